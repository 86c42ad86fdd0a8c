// The loader's image decoding (decode_image): TurboJPEG for JPEGs, OpenCV's imdecode for any
// other bytes (PNG, BMP, ...), as every training and test image goes through it.
#include <fgreid/data/loader.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = fgreid::fuzz::write_file("image.jpg", fgreid::fuzz::as_text(data, size));
  fgreid::fuzz::expect_clean_errors([&] { (void)fgreid::data::decode_image(file); });
  return 0;
}
