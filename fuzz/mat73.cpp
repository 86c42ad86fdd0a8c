// MATLAB v7.3 (HDF5) readers: CUHK03's cuhk-03.mat through libhdf5 (cell walk, classic split,
// images) and read_mat_matrix, which reads v7.3 files through matio's HDF5 support. The first
// byte picks the reader and its options; the rest is the .mat file.
#include "access/access.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fgreid;
  if (size == 0) return 0;
  const auto file = fuzz::write_file("file.mat", fuzz::as_text(data + 1, size - 1));
  fuzz::expect_clean_errors([&] {
    if (data[0] % 2 == 0)
      fuzz::cuhk03_release(file, data[0] / 2 % 2 == 1, data[0] / 4 % 4);
    else
      fuzz::mat_matrix(file, "query_IDX");
  });
  return 0;
}
