// MATLAB v5 readers (matio): read_mat_matrix (MARS' tracks_*_info.mat and query_IDX.mat,
// iLIDS-VID's splits), CUHK03's new-protocol files and GRID's partitions. The first byte picks
// the reader; the rest is the .mat file.
#include <fgreid/datasets/mat_numeric.hpp>

#include "access/access.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fgreid;
  if (size == 0) return 0;
  const auto file = fuzz::write_file("file.mat", fuzz::as_text(data + 1, size - 1));
  fuzz::expect_clean_errors([&] {
    switch (data[0] % 4) {
      case 0:
        for (const char* name : {"track_train_info", "query_IDX", "ls_set"}) {
          try {
            const auto matrix = datasets::read_mat_matrix(file, name);
            for (std::size_t r = 0; r < matrix.rows; ++r)
              for (std::size_t c = 0; c < matrix.cols; ++c)
                (void)datasets::mat_integer(file, name, matrix, r, c);
          } catch (const DataError&) {
          }
        }
        break;
      case 1: fuzz::cuhk03_protocol(file); break;
      case 2: fuzz::grid_partitions(file, data[0] / 4 % 4); break;
      default: (void)datasets::read_mat_matrix(file, "trainIdxAll"); break;
    }
  });
  return 0;
}
