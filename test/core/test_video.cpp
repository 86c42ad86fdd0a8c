// What the video datasets share: the numeric MATLAB matrices (through matio) that MARS and
// iLIDS-VID keep their metadata in, read back here and by scipy as torchreid reads them.
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include "reference.hpp"
#include "dataset_support.hpp"

#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

}  // namespace

TEST_CASE("a MATLAB matrix written through matio is read back, and a wrong one is named") {
  fgreid::test::TempDir dir;
  const auto file = dir / "m.mat";
  const auto matrix = ds::MatMatrix::from_rows(2, 3, {1, 2, 3, 4, 5, 6});
  CHECK(matrix.at(1, 0) == 4);
  ds::write_mat_matrices(file, {{"a", matrix}, {"b", ds::MatMatrix::from_rows(1, 1, {7.5})}});
  const auto back = ds::read_mat_matrix(file, "a");
  CHECK(back.rows == 2);
  CHECK(back.cols == 3);
  CHECK(back.values == std::vector<double>{1, 4, 2, 5, 3, 6});  // column-major
  CHECK(ds::mat_integer(file, "a", back, 1, 2) == 6);
  const auto b = ds::read_mat_matrix(file, "b");
  auto message = error_of([&] { (void)ds::mat_integer(file, "b", b, 0, 0); });
  CHECK(mentions(message, "b(1, 1) = 7.5"));
  message = error_of([&] { (void)ds::read_mat_matrix(file, "ls_set"); });
  CHECK(mentions(message, file.string()));
  CHECK(mentions(message, "'ls_set'"));
  write_text(dir / "text.mat", "not a MATLAB file");
  CHECK(mentions(error_of([&] { (void)ds::read_mat_matrix(dir / "text.mat", "a"); }), (dir / "text.mat").string()));
}

TEST_CASE("the MARS and iLIDS-VID .mat files written here read in scipy as torchreid reads them") {
  fgreid::test::TempDir dir;
  write_mars(dir.path());
  write_ilids(dir / "ilids");
  const auto reference = fgreid::test::run_python_reference(R"(
import json, os, sys
from scipy.io import loadmat
root = sys.argv[1]
info = os.path.join(root, "info")
train = loadmat(os.path.join(info, "tracks_train_info.mat"))["track_train_info"]
test = loadmat(os.path.join(info, "tracks_test_info.mat"))["track_test_info"]
query = loadmat(os.path.join(info, "query_IDX.mat"))["query_IDX"].squeeze()
ls_set = loadmat(os.path.join(root, "ilids", "train-test people splits", "train_test_splits_ilidsvid.mat"))["ls_set"]
print(json.dumps({"train": train.tolist(), "test_shape": list(test.shape), "query": query.tolist(),
                  "ls_set": ls_set.tolist()}))
)", dir);
  CHECK(reference["train"] == json{{1, 3, 1, 1}, {4, 5, 1, 2}, {6, 9, 3, 4}, {10, 10, -1, 3}});
  CHECK(reference["test_shape"] == json{7, 4});
  CHECK(reference["query"] == json{6, 1});
  CHECK(reference["ls_set"] == json{{3, 1, 2, 4}, {2, 4, 1, 3}});
}
