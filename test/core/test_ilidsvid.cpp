// iLIDS-VID on small trees written here in the release's exact layout with its split .mat
// (write_ilids, in dataset_support.hpp), its splits, its malformed variants, and the synthetic
// stand-in.
#include <fgreid/datasets/ilidsvid.hpp>
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include "dataset_support.hpp"

#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

std::vector<std::size_t> lengths_of(const std::vector<ds::Entry>& entries) {
  std::vector<std::size_t> lengths;
  for (const auto& entry : entries) lengths.push_back(entry.images.size());
  return lengths;
}

}  // namespace

TEST_CASE("iLIDS-VID is read with the split of --split-index: query camera 1, gallery camera 2") {
  fgreid::test::TempDir root;
  write_ilids(root / "iLIDS-VID");
  const auto split0 = ds::ILIDSVID::load(root.path(), {});
  CHECK(ds::summarize_video(split0) ==
        json{{"train", subset(2, 4, 2, 14, 2, 3.5, 4)},
             {"query", subset(2, 2, 1, 9, 3, 4.5, 6)},
             {"gallery", subset(2, 2, 1, 6, 1, 3.0, 5)},
             {"split", {{"split_index", 0}, {"splits", 2},
                        {"split_file", (root / "iLIDS-VID" / "train-test people splits" /
                                        "train_test_splits_ilidsvid.mat").string()},
                        {"train_persons", 2}, {"test_persons", 2}}}});
  CHECK(pids_of(split0.query) == std::vector<std::int64_t>{1, 10});
  CHECK(cams_of(split0.query) == std::vector<std::int64_t>{0, 0});
  CHECK(pids_of(split0.gallery) == std::vector<std::int64_t>{1, 10});
  CHECK(cams_of(split0.gallery) == std::vector<std::int64_t>{1, 1});
  CHECK(pids_of(split0.train) == std::vector<std::int64_t>{0, 0, 1, 1});
  // frames in temporal (name) order
  CHECK(split0.query[0].images[1].filename() == "cam1_person001_00320.png");

  const auto split1 = ds::ILIDSVID::load(root.path(), {.split_index = 1});
  CHECK(pids_of(split1.query) == std::vector<std::int64_t>{4, 11});
  CHECK(lengths_of(split1.gallery) == std::vector<std::size_t>{4, 4});
  CHECK(ds::summarize_video(ds::ILIDSVID::load(root.path(), {.split_index = 1})) ==
        ds::summarize_video(split1));  // reproducible
  const auto message = error_of<fgreid::UsageError>([&] { (void)ds::ILIDSVID::load(root.path(), {.split_index = 2}); });
  CHECK(mentions(message, "--split-index 2"));
  CHECK(mentions(message, "2 splits (0..1)"));
}

TEST_CASE("a malformed iLIDS-VID tree is reported with the folder, file or variable at fault") {
  fgreid::test::TempDir root;
  write_ilids(root.path());
  const auto mat = root / "train-test people splits" / "train_test_splits_ilidsvid.mat";
  const auto load = [&] { (void)ds::ILIDSVID::load(root.path(), {}); };
  SUBCASE("a person of cam1 missing from cam2") {
    fs::remove_all(root / "i-LIDS-VID" / "sequences" / "cam2" / "person004");
    CHECK(mentions(error_of(load), (root / "i-LIDS-VID" / "sequences" / "cam2" / "person004").string()));
  }
  SUBCASE("ls_set not one column per person") {
    ds::write_mat_matrices(mat, {{"ls_set", ds::MatMatrix::from_rows(1, 3, {1, 2, 3})}});
    const auto message = error_of(load);
    CHECK(mentions(message, mat.string()));
    CHECK(mentions(message, "'ls_set' is 1×3"));
  }
  SUBCASE("a split that is not a permutation") {
    ds::write_mat_matrices(mat, {{"ls_set", ds::MatMatrix::from_rows(1, 4, {1, 2, 2, 4})}});
    CHECK(mentions(error_of(load), "ls_set(1, 3) = 2"));
  }
  SUBCASE("a person folder without frames") {
    for (const auto& frame : fs::directory_iterator(root / "i-LIDS-VID" / "sequences" / "cam2" / "person010"))
      fs::remove(frame.path());
    CHECK(mentions(error_of(load), (root / "i-LIDS-VID" / "sequences" / "cam2" / "person010").string()));
  }
  SUBCASE("the split file missing") {
    fs::remove(mat);
    CHECK(mentions(error_of(load), mat.string()));
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic iLIDS-VID is read back by its loader with the planned counts" *
          doctest::timeout(600)) {
  // the recipes' cache key: written once for the tests and the end-to-end runs
  const auto ilids = ds::ensure_synthetic("ilidsvid-v1", [](const fs::path& r) { ds::write_synthetic_ilidsvid(r); });
  const auto i = ds::summarize_video(ds::ILIDSVID::load(ilids, {.split_index = 9}));
  CHECK(i["train"] == json{{"ids", 40}, {"tracklets", 80}, {"cameras", 2}, {"frames", i["train"]["frames"]}});
  CHECK(i["query"]["tracklets"] == 40);
  CHECK(i["gallery"]["tracklets"] == 40);
}
