// MARS on small trees written here in the release's exact layout with its .mat files
// (write_mars, in dataset_support.hpp), junk and distractors, the validation split, its
// malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/mars.hpp>
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "dataset_support.hpp"

#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

const json mars_summary = {{"train", subset(2, 3, 3, 9, 2, 3.0, 4)},
                           {"query", subset(2, 2, 2, 8, 3, 4.0, 5)},
                           {"gallery", subset(3, 4, 3, 7, 1, 1.75, 2)},
                           {"split", {{"junk_tracklets_dropped", 2}}}};

}  // namespace

TEST_CASE("MARS is read from its .mat files: junk dropped, distractors kept, query_IDX order") {
  fgreid::test::TempDir root;
  write_mars(root / "MARS");
  const auto splits = ds::MARS::load(root.path(), {});
  CHECK(ds::summarize_video(splits) == mars_summary);
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 1});  // 1, 1, 3
  CHECK(cams_of(splits.train) == std::vector<std::int64_t>{0, 1, 3});
  CHECK(pids_of(splits.query) == std::vector<std::int64_t>{4, 2});  // query_IDX = [6, 1]
  CHECK(pids_of(splits.gallery) == std::vector<std::int64_t>{2, 2, 0, 4});
  CHECK(cams_of(splits.gallery) == std::vector<std::int64_t>{2, 2, 4, 5});
  CHECK(splits.train[2].images.back() == root / "MARS" / "bbox_train" / "0003" / "0003C4T0002F004.jpg");
  CHECK(splits.query[0].images.front() == root / "MARS" / "bbox_test" / "0004" / "0004C2T0001F001.jpg");

  SUBCASE("unpacked without its top folder, with query_IDX as a column: the same") {
    fgreid::test::TempDir flat;
    write_mars(flat.path());
    ds::write_mat_matrices(flat / "info" / "query_IDX.mat",
                           {{"query_IDX", ds::MatMatrix::from_rows(2, 1, {6, 1})}});
    CHECK(ds::summarize_video(ds::MARS::load(flat.path(), {})) == mars_summary);
  }
  SUBCASE("--validation holds out training identities") {
    const auto held = ds::MARS::load(root.path(), {.validation = 0.5, .validation_seed = 3});
    CHECK(held.query.size() + held.train.size() == 3);
    CHECK(held.gallery.size() == 3);
    CHECK(held.info["validation"]["held_out_ids"] == 1);
    CHECK(held.info["junk_tracklets_dropped"] == 2);
  }
}

TEST_CASE("a malformed MARS tree is reported with the file, .mat variable or tracklet at fault") {
  fgreid::test::TempDir root;
  write_mars(root.path());
  const auto info = root / "info";
  const auto load = [&] { (void)ds::MARS::load(root.path(), {}); };
  SUBCASE("a missing .mat file") {
    fs::remove(info / "query_IDX.mat");
    CHECK(mentions(error_of(load), (info / "query_IDX.mat").string()));
  }
  SUBCASE("the .mat variable under another name") {
    ds::write_mat_matrices(info / "tracks_test_info.mat",
                           {{"track_info", ds::MatMatrix::from_rows(1, 4, {1, 3, 2, 1})}});
    const auto message = error_of(load);
    CHECK(mentions(message, (info / "tracks_test_info.mat").string()));
    CHECK(mentions(message, "'track_test_info'"));
  }
  SUBCASE("a track table with three columns") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 3, {1, 3, 1})}});
    CHECK(mentions(error_of(load), "'track_train_info' is 1×3"));
  }
  SUBCASE("a tracklet over two persons") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 4, {4, 6, 1, 2})}});
    const auto message = error_of(load);
    CHECK(mentions(message, "track_train_info row 1"));
    CHECK(mentions(message, "two persons"));
  }
  SUBCASE("a tracklet over two cameras") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(2, 4, {1, 3, 1, 1, 2, 5, 1, 1})}});
    const auto message = error_of(load);
    CHECK(mentions(message, "track_train_info row 2"));
    CHECK(mentions(message, "two cameras"));
  }
  SUBCASE("a camera beyond 6, frames beyond the list, a query row beyond the table") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 4, {1, 3, 1, 7})}});
    CHECK(mentions(error_of(load), "camera 7 out of range"));
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 4, {9, 11, 3, 4})}});
    CHECK(mentions(error_of(load), "outside the 10 names"));
    write_mars(root.path(), {8});
    CHECK(mentions(error_of(load), "query_IDX(1) = 8 is not a row of track_test_info"));
  }
  SUBCASE("a listed frame that is not there") {
    fs::remove(root / "bbox_test" / "0004" / "0004C6T0001F002.jpg");
    CHECK(mentions(error_of(load), (root / "bbox_test" / "0004" / "0004C6T0001F002.jpg").string()));
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic MARS is read back by its loader with the planned counts, its frames moving" *
          doctest::timeout(600)) {
  // the recipes' cache key: written once for the tests and the end-to-end runs
  const auto mars = ds::ensure_synthetic("mars-v1", [](const fs::path& r) { ds::write_synthetic_mars(r); });
  const auto m = ds::summarize_video(ds::MARS::load(mars, {}));
  CHECK(m["train"]["ids"] == 60);
  CHECK(m["query"]["ids"] == 60);
  CHECK(m["query"]["tracklets"] == 60);
  CHECK(m["gallery"]["ids"] == 61);  // the test identities and the distractors' 0
  CHECK(m["train"]["cameras"] == 6);
  CHECK(m["split"]["junk_tracklets_dropped"] == 6);
  CHECK(m["train"]["frames"]["min"] == 2);
  CHECK(m["train"]["frames"]["max"] == 16);
  // frames of one tracklet move: consecutive frames differ, but less than frames of two people
  const auto splits = ds::MARS::load(mars, {});
  const ds::Entry* longest = &splits.train.front();
  for (const auto& entry : splits.train) if (entry.images.size() > longest->images.size()) longest = &entry;
  const auto a = cv::imread(longest->images[0].string()), b = cv::imread(longest->images[1].string());
  const auto other = cv::imread(splits.query.front().images[0].string());
  const double step = cv::norm(a, b, cv::NORM_L1), apart = cv::norm(a, other, cv::NORM_L1);
  CHECK(step > 0.0);
  CHECK(step < apart);
}
