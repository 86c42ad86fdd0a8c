// Inputs with which fuzz_mat5 (fuzz/mat5.cpp) made matio allocate hundreds of GB, touch
// 4 GB or run for seconds, kept as found under test/data/fuzz/mat5/ (first byte: the
// harness's reader choice; the rest: the .mat file). Each must now end in a DataError naming
// the file, refused by the size check (src/core/datasets/mat_guard.cpp) before matio reads
// it; the .mat files scipy writes, compressed or not, v4 or v5, must still read.
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;

const fs::path kKept = fs::path(FGREID_SOURCE_DIR) / "test/data/fuzz/mat5";
const fs::path kSeeds = fs::path(FGREID_SOURCE_DIR) / "fuzz/corpus/mat5";

/// The .mat file a fuzz_mat5 input stands for (its bytes after the first), written into `dir`.
fs::path as_mat_file(const fs::path& input, const fgreid::test::TempDir& dir) {
  std::ifstream in(input, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto file = dir / (input.filename().string() + ".mat");
  std::ofstream(file, std::ios::binary).write(bytes.data() + 1, static_cast<std::streamsize>(bytes.size() - 1));
  return file;
}

}  // namespace

TEST_CASE("fuzzed .mat files that made matio over-allocate or hang are DataErrors naming the file") {
  std::vector<fs::path> inputs(fs::directory_iterator(kKept), fs::directory_iterator{});
  std::ranges::sort(inputs);
  REQUIRE(inputs.size() >= 30);
  for (const auto& input : inputs) {
    fgreid::test::TempDir dir;
    const auto file = as_mat_file(input, dir);
    INFO("input: ", input.string());
    std::string message;
    try {
      // Mat_VarRead reads the header of every variable before the one asked for, so a name
      // the file lacks walks all of it.
      (void)ds::read_mat_matrix(file, "no_such_variable");
    } catch (const fgreid::DataError& error) {
      message = error.what();
    }
    CHECK(message.starts_with(file.string() + ": "));
  }
}

TEST_CASE("the .mat files scipy writes still read after the size check: v5, compressed, v4") {
  // fuzz/make_corpus.py wrote track_train_info = [[1 2 1 1] [3 4 -1 2] [5 6 2 6]] in each.
  const std::vector<double> expected = {1, 2, 1, 1, 3, 4, -1, 2, 5, 6, 2, 6};
  for (const char* seed : {"tracks", "tracks_int32", "tracks_compressed"}) {
    CAPTURE(seed);
    fgreid::test::TempDir dir;
    const auto matrix = ds::read_mat_matrix(as_mat_file(kSeeds / seed, dir), "track_train_info");
    REQUIRE(matrix.rows == 3);
    REQUIRE(matrix.cols == 4);
    for (std::size_t r = 0; r < 3; ++r)
      for (std::size_t c = 0; c < 4; ++c) CHECK(matrix.at(r, c) == expected[r * 4 + c]);
  }
  fgreid::test::TempDir dir;
  const auto v4 = ds::read_mat_matrix(as_mat_file(kSeeds / "v4", dir), "query_IDX");  // [[1 2]]
  CHECK(v4.rows == 1);
  CHECK(v4.values == std::vector<double>{1, 2});
  // A file whose cell array (GRID's trainIdxAll of structs) passes the check reaches matio,
  // which names the class it cannot read as a matrix.
  std::string message;
  try {
    (void)ds::read_mat_matrix(as_mat_file(kSeeds / "grid", dir), "trainIdxAll");
  } catch (const fgreid::DataError& error) {
    message = error.what();
  }
  CHECK(message.find("damaged or hostile") == std::string::npos);
  CHECK(message.find("trainIdxAll") != std::string::npos);
}
