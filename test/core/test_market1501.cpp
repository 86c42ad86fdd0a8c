#include <fgreid/datasets/market1501.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>

#include "support.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

using fgreid::datasets::Market1501;
using fgreid::datasets::parse_market_name;

static_assert(fgreid::Dataset<Market1501>);

/// Writes a tiny valid JPEG at `path`, creating its folder.
void write_image(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  REQUIRE(cv::imwrite(path.string(), cv::Mat(8, 4, CV_8UC3, cv::Scalar(40, 90, 160))));
}

void write_text(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "not an image\n";
}

/// A small release under `base`: junk, distractors and files that are not Market images.
void write_release(const std::filesystem::path& base) {
  for (const auto* name : {"0007_c1s1_000100_01.jpg", "0007_c1s1_000160_02.jpg",
                           "0007_c2s1_000900_01.jpg", "0003_c3s1_000050_01.jpg",
                           "0003_c4s2_000010_01.jpg", "0100_c6s4_000200_01.jpg"})
    write_image(base / "bounding_box_train" / name);
  for (const auto* name : {"0005_c1s1_001000_01.jpg", "0005_c2s1_001500_01.jpg",
                           "0009_c3s1_002000_01.jpg"})
    write_image(base / "query" / name);
  for (const auto* name : {"0005_c3s1_001700_01.jpg", "0005_c4s1_001800_01.jpg",
                           "0009_c1s1_001900_02.jpg", "0000_c2s2_000300_04.jpg",
                           "0000_c2s3_000301_05.jpg", "-1_c5s1_000400_01.jpg",
                           "-1_c5s2_000401_02.jpg"})
    write_image(base / "bounding_box_test" / name);
  // none of these is read
  write_text(base / "bounding_box_train" / "readme.txt");
  write_text(base / "query" / "Thumbs.db");
  REQUIRE(cv::imwrite((base / "bounding_box_test" / "0005_c6s1_000001_01.png").string(),
                      cv::Mat(8, 4, CV_8UC3, cv::Scalar::all(0))));
  std::filesystem::create_directories(base / "bounding_box_test" / "0009_c6s1_000002_01.jpg");
  write_image(base / "bounding_box_test" / "nested" / "0009_c6s1_000003_01.jpg");
}

const nlohmann::json release_summary = {
    {"train", {{"ids", 3}, {"images", 6}, {"cameras", 5}}},
    {"query", {{"ids", 2}, {"images", 3}, {"cameras", 3}}},
    {"gallery", {{"ids", 3}, {"images", 5}, {"cameras", 4}}}};

/// The message of the DataError `action` throws; fails the test if it throws nothing else.
std::string data_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const fgreid::DataError& error) {
    return error.what();
  }
  FAIL("no DataError was thrown");
  return {};
}

std::string load_error(const std::filesystem::path& root) {
  return data_error_of([&] { (void)Market1501::load(root, {}); });
}

}  // namespace

TEST_CASE("a Market name is read into person, camera, sequence, frame and box") {
  const auto name = parse_market_name("0002_c1s1_000451_03.jpg");
  REQUIRE(name);
  CHECK(name->pid == 2);
  CHECK(name->camera == 1);
  CHECK(name->sequence == 1);
  CHECK(name->frame == 451);
  CHECK(name->box == 3);
}

TEST_CASE("a junk name has person id -1") {
  const auto name = parse_market_name("-1_c3s2_012345_01.jpg");
  REQUIRE(name);
  CHECK(name->pid == -1);
  CHECK(name->camera == 3);
  CHECK(name->sequence == 2);
  CHECK(name->frame == 12345);
  CHECK(name->box == 1);
}

TEST_CASE("a distractor name has person id 0") {
  const auto name = parse_market_name("0000_c6s4_001234_07.jpg");
  REQUIRE(name);
  CHECK(name->pid == 0);
  CHECK(name->camera == 6);
  CHECK(name->sequence == 4);
}

TEST_CASE("a name outside the pattern is not read") {
  for (const auto* name :
       {"", "0002_c1s1_000451_03.png", "0002_c1s1_000451_03", "0002_c1s1_000451_03.jpg.bak",
        "0002_c1_000451_03.jpg", "0002_c1s1_000451.jpg", "abcd_c1s1_000451_03.jpg",
        "0002-c1s1_000451_03.jpg", "0002_cXs1_000451_03.jpg", "-_c1s1_000451_03.jpg",
        "0002_c1s1_000451_03jpg", "0002_c1s1__03.jpg", "x0002_c1s1_000451_03.jpg",
        "0002_c99999999999s1_000451_03.jpg"}) {
    CAPTURE(name);
    CHECK_FALSE(parse_market_name(name));
  }
}

TEST_CASE("a frame is put on its camera's clock by adding the camera's earlier sequences") {
  // c1s3: after c1s1 (72681 frames) and c1s2 (74546 frames)
  CHECK(fgreid::datasets::market_global_frame(1, 3, 100) == 72681 + 74546 + 100);
  CHECK(fgreid::datasets::market_global_frame(2, 1, 5) == 5);
  CHECK(fgreid::datasets::market_global_frame(6, 4, 0) == 87551 + 131268 + 95817);
  CHECK_FALSE(fgreid::datasets::market_global_frame(2, 4, 0));  // c2 has three sequences
  CHECK_FALSE(fgreid::datasets::market_global_frame(1, 0, 0));
  CHECK_FALSE(fgreid::datasets::market_global_frame(7, 1, 0));
  CHECK(fgreid::datasets::market_sequence_lengths(5).size() == 3);
}

TEST_CASE("a release is read into train, query and gallery without junk or stray files") {
  fgreid::test::TempDir root;
  write_release(root / "Market-1501-v15.09.15");
  const auto splits = Market1501::load(root.path(), {});
  CHECK(fgreid::datasets::summarize(splits) == release_summary);
  CHECK(splits.num_train_ids() == 3);
  CHECK(splits.info.empty());

  SUBCASE("training ids are relabelled in ascending order of the release's ids") {
    std::vector<std::int64_t> pids;
    for (const auto& entry : splits.train) pids.push_back(entry.pid);
    // sorted by file name: 0003 ×2, 0007 ×3, 0100
    CHECK(pids == std::vector<std::int64_t>{0, 0, 1, 1, 1, 2});
  }
  SUBCASE("query and gallery keep the release's ids, distractors included") {
    std::vector<std::int64_t> query, gallery;
    for (const auto& entry : splits.query) query.push_back(entry.pid);
    for (const auto& entry : splits.gallery) gallery.push_back(entry.pid);
    CHECK(query == std::vector<std::int64_t>{5, 5, 9});
    CHECK(gallery == std::vector<std::int64_t>{0, 0, 5, 5, 9});
  }
  SUBCASE("an entry holds its image, a 0-based camera and the frame on the camera's clock") {
    const auto& entry = splits.train.at(1);  // 0003_c4s2_000010_01.jpg
    REQUIRE(entry.images.size() == 1);
    CHECK(entry.images.front() ==
          root.path() / "Market-1501-v15.09.15" / "bounding_box_train" / "0003_c4s2_000010_01.jpg");
    CHECK(entry.camid == 3);
    CHECK(entry.frame == 72707 + 10);
    CHECK(splits.train.back().frame == 87551 + 131268 + 95817 + 200);  // 0100_c6s4_000200_01
  }
}

TEST_CASE("a release unpacked without its top folder is read the same") {
  fgreid::test::TempDir root;
  write_release(root.path());
  CHECK(fgreid::datasets::summarize(Market1501::load(root.path(), {})) == release_summary);
}

TEST_CASE("a missing folder is reported with the path where it was expected") {
  fgreid::test::TempDir root;
  write_release(root.path());
  std::filesystem::remove_all(root / "bounding_box_test");
  CHECK(load_error(root.path()).find((root / "bounding_box_test").string()) != std::string::npos);
  std::filesystem::remove_all(root / "query");
  CHECK(load_error(root.path()).find((root / "query").string()) != std::string::npos);
}

TEST_CASE("a .jpg whose name is not a Market name is reported with the expected pattern") {
  fgreid::test::TempDir root;
  write_release(root.path());
  write_image(root / "query" / "0005_c1s1_000451.jpg");
  const auto message = load_error(root.path());
  CHECK(message.find((root / "query" / "0005_c1s1_000451.jpg").string()) != std::string::npos);
  CHECK(message.find("PPPP_cCsS_FFFFFF_BB.jpg") != std::string::npos);
}

TEST_CASE("a person id or camera outside the release is reported with the file") {
  for (const auto* name : {"1502_c1s1_000001_01.jpg", "-2_c1s1_000001_01.jpg",
                           "0002_c7s1_000001_01.jpg", "0002_c0s1_000001_01.jpg"}) {
    CAPTURE(name);
    fgreid::test::TempDir root;
    write_release(root.path());
    write_image(root / "bounding_box_test" / name);
    CHECK(load_error(root.path()).find(name) != std::string::npos);
  }
}

TEST_CASE("the summary shows dataset-specific split information only when there is some") {
  fgreid::datasets::Splits splits;
  splits.train.push_back({.images = {"a.jpg"}, .pid = 0, .camid = 1, .frame = -1});
  splits.train.push_back({.images = {"b.jpg"}, .pid = 1, .camid = 1, .frame = -1});
  CHECK_FALSE(fgreid::datasets::summarize(splits).contains("split"));
  CHECK(fgreid::datasets::summarize(splits)["train"] ==
        nlohmann::json{{"ids", 2}, {"images", 2}, {"cameras", 1}});
  splits.info = {{"index", 3}};
  CHECK(fgreid::datasets::summarize(splits)["split"] == nlohmann::json{{"index", 3}});
  CHECK(fgreid::datasets::summarize(splits)["gallery"] ==
        nlohmann::json{{"ids", 0}, {"images", 0}, {"cameras", 0}});
}

TEST_CASE("a sequence beyond the release's table (data renamed into Market names) loads with its frame unknown") {
  fgreid::test::TempDir root;
  write_release(root.path());
  write_image(root / "bounding_box_test" / "0099_c2s4_055272_01.jpg");  // c2 has three sequences
  write_image(root / "bounding_box_train" / "0100_c6s9_000001_01.jpg");  // c6 has four
  const auto splits = Market1501::load(root.path(), {});
  std::map<std::string, std::int64_t> frame_of;
  for (const auto* subset : {&splits.train, &splits.gallery})
    for (const auto& entry : *subset) frame_of[entry.images.front().filename().string()] = entry.frame;
  CHECK(frame_of.at("0099_c2s4_055272_01.jpg") == -1);
  CHECK(frame_of.at("0100_c6s9_000001_01.jpg") == -1);
  CHECK(frame_of.at("0100_c6s4_000200_01.jpg") == 87551 + 131268 + 95817 + 200);  // the others keep theirs
  CHECK(splits.gallery.size() == release_summary["gallery"]["images"].get<std::size_t>() + 1);
}
