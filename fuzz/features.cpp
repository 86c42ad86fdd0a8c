// The features-file reader of fgreid_eval and fgreid_search: load_features.
#include <fgreid/eval/features_file.hpp>

#include "torch_archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = fgreid::fuzz::torch_file("features.pt", data, size);
  fgreid::fuzz::expect_clean_errors([&] { (void)fgreid::eval::load_features(file); });
  return 0;
}
