// VRIC on small trees written here in the release's exact layout (write_vric, in
// dataset_support.hpp), its malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/vric.hpp>
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

}  // namespace

TEST_CASE("a VRIC release is read from its three lists") {
  fgreid::test::TempDir root;
  write_vric(root / "VRIC");
  const auto splits = ds::VRIC::load(root.path(), {});
  CHECK(ds::summarize(splits) == json{{"train", {{"ids", 3}, {"images", 4}, {"cameras", 4}}},
                                      {"query", {{"ids", 2}, {"images", 2}, {"cameras", 2}}},
                                      {"gallery", {{"ids", 2}, {"images", 2}, {"cameras", 2}}}});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{1, 1, 0, 2});  // 17, 17, 4, 900
  CHECK(splits.train.at(2).camid == 59);
  CHECK(splits.query.at(0).images.front() == root.path() / "VRIC" / "probe_images" / "p1.jpg");
  CHECK(splits.gallery.at(0).camid == 8);
}

TEST_CASE("a malformed VRIC tree is reported with the list and the image") {
  fgreid::test::TempDir root;
  write_vric(root.path());
  const auto load = [&] { (void)ds::VRIC::load(root.path(), {}); };
  SUBCASE("missing folder") {
    fs::remove_all(root / "gallery_images");
    CHECK(mentions(error_of(load), root / "gallery_images"));
  }
  SUBCASE("missing list") {
    fs::remove(root / "vric_probe.txt");
    CHECK(mentions(error_of(load), root / "vric_probe.txt"));
  }
  SUBCASE("a listed image that is not there") {
    fs::remove(root / "probe_images" / "p2.jpg");
    const auto message = error_of(load);
    CHECK(mentions(message, root / "vric_probe.txt"));
    CHECK(mentions(message, root / "probe_images" / "p2.jpg"));
  }
  SUBCASE("a line without its camera, or camera 0") {
    for (const auto* text : {"g1.jpg 5\n", "g1.jpg 5 0\n"}) {
      write_text(root / "vric_gallery.txt", text);
      CHECK(mentions(error_of(load), root / "vric_gallery.txt"));
    }
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic VRIC is written in its release's layout and reads back") {
  fgreid::test::TempDir root;
  ds::VRIC::synthesize(root.path(), {});
  const auto splits = ds::VRIC::load(root.path(), {});
  CHECK(splits.num_train_ids() == 80);
  CHECK(splits.query.size() == 80);
  CHECK(splits.gallery.size() == 80);  // one probe and one gallery image per test vehicle
  check_learnable_layout(splits);
}

TEST_CASE("VRIC frames are read from the image names as the seed's st-ReID does") {
  fgreid::test::TempDir root;
  SUBCASE("names that carry one: the last field without its first three characters") {
    write_image(root / "train_images" / "MVI_20011_img00042.jpg");
    write_image(root / "probe_images" / "0005_07_00_fr00007.jpg");
    write_image(root / "gallery_images" / "0005_09_00_fr01234.jpg");
    write_text(root / "vric_train.txt", "MVI_20011_img00042.jpg 17 1\n");
    write_text(root / "vric_probe.txt", "0005_07_00_fr00007.jpg 5 7\n");
    write_text(root / "vric_gallery.txt", "0005_09_00_fr01234.jpg 5 9\n");
    const auto splits = ds::VRIC::load(root.path(), {});
    CHECK(splits.train.at(0).frame == 42);
    CHECK(splits.query.at(0).frame == 7);
    CHECK(splits.gallery.at(0).frame == 1234);
  }
  SUBCASE("names that carry none: unknown (-1), so st-ReID says it cannot run") {
    write_vric(root.path());
    const auto splits = ds::VRIC::load(root.path(), {});
    for (const auto& entry : splits.train) CHECK(entry.frame == -1);
  }
  SUBCASE("the synthetic stand-in carries them") {
    ds::VRIC::synthesize(root.path(), {});
    const auto splits = ds::VRIC::load(root.path(), {});
    for (const auto* subset : {&splits.train, &splits.query, &splits.gallery})
      for (const auto& entry : *subset) CHECK(entry.frame >= 0);
  }
}
