// DukeMTMC-VideoReID on small trees written here in the release's exact layout, its names old
// and new, its malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/dukemtmc_video.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include "dataset_support.hpp"

#include <string>
#include <type_traits>
#include <vector>

// The person-folder reader once parsed a view of a temporary name (ASan: stack-use-after-scope,
// scripts/check-sanitizers): a NameReader of a temporary string does not compile.
static_assert(!std::is_constructible_v<fgreid::datasets::NameReader, std::string>);
static_assert(std::is_constructible_v<fgreid::datasets::NameReader, const std::string&>);

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

void write_duke_video(const fs::path& base) {
  // train: person 1 with a tracklet starting at F0002 (old and new names mixed in the release)
  for (const auto* name : {"0001_C1_F0002_X00100.jpg", "0001_C1_F0003_X00112.jpg", "0001_C1_F0004_X00124.jpg"})
    write_image(base / "train" / "0001" / "0001" / name);
  for (const auto* name : {"0001C3F99X20000.jpg", "0001C3F100X20012.jpg"})  // 99 before 100
    write_image(base / "train" / "0001" / "0002" / name);
  write_image(base / "train" / "0007" / "0001" / "0007_C8_F0001_X05000.jpg");
  for (const auto* name : {"0002_C2_F0001_X01000.jpg", "0002_C2_F0002_X01012.jpg"})
    write_image(base / "query" / "0002" / "0001" / name);
  for (const auto* name : {"0002_C5_F0001_X03000.jpg", "0002_C5_F0002_X03012.jpg", "0002_C5_F0003_X03024.jpg"})
    write_image(base / "gallery" / "0002" / "0003" / name);
  write_image(base / "gallery" / "6000" / "0001" / "6000_C4_F0001_X07000.jpg");  // distractor
  write_text(base / "gallery" / "6000" / "0001" / "notes.txt", "not a frame");
}

}  // namespace

TEST_CASE("DukeMTMC-VideoReID tracklets are read in frame order, the camera from the names") {
  CHECK(ds::parse_duke_video_name("0001_C6_F0099_X30823.jpg")->index == 99);
  CHECK(ds::parse_duke_video_name("0001C6F0099X30823.jpg")->camera == 6);
  for (const auto* bad : {"0001_C6_F0099.jpg", "0001_c6_F0099_X30823.jpg", "1C6F0099X30823.jpg", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(ds::parse_duke_video_name(bad));
  }
  fgreid::test::TempDir root;
  write_duke_video(root / "DukeMTMC-VideoReID");
  const auto splits = ds::DukeMTMCVideoReID::load(root.path(), {});
  CHECK(ds::summarize_video(splits) == json{{"train", subset(2, 3, 3, 6, 1, 2.0, 3)},
                                            {"query", subset(1, 1, 1, 2, 2, 2.0, 2)},
                                            {"gallery", subset(2, 2, 2, 4, 1, 2.0, 3)}});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 1});
  CHECK(cams_of(splits.train) == std::vector<std::int64_t>{0, 2, 7});
  CHECK(splits.train[1].images.front().filename() == "0001C3F99X20000.jpg");
  CHECK(pids_of(splits.gallery) == std::vector<std::int64_t>{2, 6000});

  SUBCASE("malformed: two cameras in a tracklet, another person's frame, a stray person folder") {
    const auto base = root / "DukeMTMC-VideoReID";
    write_image(base / "query" / "0002" / "0001" / "0002_C3_F0003_X01024.jpg");
    auto message = error_of([&] { (void)ds::DukeMTMCVideoReID::load(root.path(), {}); });
    CHECK(mentions(message, (base / "query" / "0002" / "0001").string()));
    CHECK(mentions(message, "cameras C2 and C3"));
    fs::remove(base / "query" / "0002" / "0001" / "0002_C3_F0003_X01024.jpg");
    write_image(base / "train" / "0007" / "0001" / "0008_C8_F0002_X05012.jpg");
    CHECK(mentions(error_of([&] { (void)ds::DukeMTMCVideoReID::load(root.path(), {}); }), "0008_C8_F0002_X05012.jpg"));
    fs::remove(base / "train" / "0007" / "0001" / "0008_C8_F0002_X05012.jpg");
    fs::create_directories(base / "gallery" / "tmp");
    CHECK(mentions(error_of([&] { (void)ds::DukeMTMCVideoReID::load(root.path(), {}); }), (base / "gallery" / "tmp").string()));
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic DukeMTMC-VideoReID is read back by its loader with the planned counts" *
          doctest::timeout(600)) {
  // the recipes' cache key: written once for the tests and the end-to-end runs
  const auto duke = ds::ensure_synthetic("dukemtmcvideoreid-v1",
                                         [](const fs::path& r) { ds::write_synthetic_duke_video(r); });
  const auto d = ds::summarize_video(ds::DukeMTMCVideoReID::load(duke, {}));
  CHECK(d["train"]["ids"] == 60);
  CHECK(d["query"]["tracklets"] == 60);
  CHECK(d["gallery"]["ids"] == 72);
}
