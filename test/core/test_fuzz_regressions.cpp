// Inputs with which a fuzz harness broke a torch-free reader, kept as found under
// test/data/fuzz/<harness>/ (first byte: the harness's reader choice; the rest: the file):
// - mat5 (fuzz/mat5.cpp): matio allocated hundreds of GB, touched 4 GB or ran for seconds;
//   now refused by the size check (src/core/datasets/mat_guard.cpp) before matio reads;
// - mat73 (fuzz/mat73.cpp): CUHK03's cuhk-03.mat reader allocated what a dataset's dims
//   claimed (std::length_error, 3.4 GB inside H5Dread) and cast a huge double to int; and
//   libhdf5 itself crashed (a null block read) or allocated a local heap's hostile size (up to
//   2^62 bytes), now contained by reading in a child process (src/core/detail/child_process.cpp).
// Each must now end in a DataError (or, for a split the file lacks, a UsageError) naming the
// file; the .mat files scipy writes, compressed or not, v4 or v5, must still read.
#include <fgreid/datasets/cuhk03.hpp>
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
const fs::path kKept73 = fs::path(FGREID_SOURCE_DIR) / "test/data/fuzz/mat73";
const fs::path kSeeds = fs::path(FGREID_SOURCE_DIR) / "fuzz/corpus/mat5";

/// The .mat file a fuzz_mat5 input stands for (its bytes after the first), written into `dir`.
fs::path as_mat_file(const fs::path& input, const fs::path& file) {
  std::ifstream in(input, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary).write(bytes.data() + 1, static_cast<std::streamsize>(bytes.size() - 1));
  return file;
}
fs::path as_mat_file(const fs::path& input, const fgreid::test::TempDir& dir) {
  return as_mat_file(input, dir / (input.filename().string() + ".mat"));
}

/// The kept inputs of a harness, sorted by name.
std::vector<fs::path> kept(const fs::path& folder) {
  std::vector<fs::path> inputs(fs::directory_iterator(folder), fs::directory_iterator{});
  std::ranges::sort(inputs);
  return inputs;
}

}  // namespace

TEST_CASE("fuzzed .mat files that made matio over-allocate or hang are DataErrors naming the file") {
  const auto inputs = kept(kKept);
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

TEST_CASE("a MATLAB v7.3 matrix reads through matio in the child process; a broken one is named") {
  // fuzz/make_corpus.py wrote query_IDX = [1 2 4] with h5py in MATLAB's v7.3 layout.
  const fs::path seeds = fs::path(FGREID_SOURCE_DIR) / "fuzz/corpus/mat73";
  fgreid::test::TempDir dir;
  const auto matrix = ds::read_mat_matrix(as_mat_file(seeds / "query_idx", dir), "query_IDX");
  CHECK(matrix.rows == 1);
  CHECK(matrix.values == std::vector<double>{1, 2, 4});
  const auto truncated = as_mat_file(seeds / "truncated", dir);
  std::string message;
  try {
    (void)ds::read_mat_matrix(truncated, "query_IDX");
  } catch (const fgreid::DataError& error) {
    message = error.what();
  }
  CHECK(message.starts_with(truncated.string() + ": "));
}

TEST_CASE("fuzzed cuhk-03.mat files that crashed or over-allocated the reader are named errors") {
  const auto inputs = kept(kKept73);
  REQUIRE_FALSE(inputs.empty());
  for (const auto& input : inputs) {
    INFO("input: ", input.string());
    std::ifstream in(input, std::ios::binary);
    const auto choice = static_cast<std::uint8_t>(in.get());
    fgreid::test::TempDir root;
    const auto file = as_mat_file(input, root / "cuhk03_release/cuhk-03.mat");
    std::string message;
    try {
      // What fuzz/mat73.cpp reads for this first byte, through the public loaders.
      if (choice % 2 == 0)
        (void)ds::CUHK03::load(root.path(), {.cuhk03_boxes = choice / 2 % 2 == 1 ? ds::Cuhk03Boxes::labeled
                                                                                 : ds::Cuhk03Boxes::detected,
                                             .cuhk03_classic = true, .split_index = choice / 4 % 4});
      else
        (void)ds::read_mat_matrix(file, "query_IDX");
    } catch (const fgreid::DataError& error) {
      message = error.what();
      CHECK(message.starts_with(file.string() + ": "));
    } catch (const fgreid::UsageError& error) {
      message = error.what();
      CHECK(message.find(file.string()) != std::string::npos);
    }
    CHECK_FALSE(message.empty());
  }
}
