// MSMT17 on small trees written here in the release's exact layout (write_msmt17, in
// dataset_support.hpp), V1 and V2, its malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include "dataset_support.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

}  // namespace

TEST_CASE("the MSMT17 camera is the third '_' field of the file name") {
  CHECK(ds::msmt17_camera("0000_000_01_0303morning_0015_0.jpg") == 1);
  CHECK(ds::msmt17_camera("0133_012_15_0113noon_0915_2.jpg") == 15);
  CHECK_FALSE(ds::msmt17_camera("0000_000.jpg"));
  CHECK_FALSE(ds::msmt17_camera("0000_000_xx_0303morning_0015_0.jpg"));
}

TEST_CASE("an MSMT17 release is read from its lists, V1 or V2, val merged on request") {
  for (const auto& [folder, train, test] :
       {std::tuple{"MSMT17_V1", "train", "test"}, std::tuple{"MSMT17_V2", "mask_train_v2", "mask_test_v2"}}) {
    CAPTURE(folder);
    fgreid::test::TempDir root;
    write_msmt17(root.path(), folder, train, test);
    const auto splits = ds::MSMT17::load(root.path(), {});
    CHECK(ds::summarize(splits)["train"] == json{{"ids", 3}, {"images", 4}, {"cameras", 4}});
    CHECK(ds::summarize(splits)["query"] == json{{"ids", 2}, {"images", 2}, {"cameras", 2}});
    CHECK(ds::summarize(splits)["gallery"] == json{{"ids", 2}, {"images", 3}, {"cameras", 3}});
    CHECK(splits.info["version"] == folder);
    CHECK(splits.info["val_images"] == 2);
    CHECK(splits.train.at(2).camid == 14);
    CHECK(splits.train.at(2).images.front() == root.path() / folder / train / "0001" / "0001_000_15_0303noon_0100_1.jpg");
    CHECK(splits.gallery.at(2).images.front() == root.path() / folder / test / "0004" / "0004_002_11_0113noon_0003_0.jpg");

    const auto merged = ds::MSMT17::load(root.path(), {.msmt17_merge_val = true});
    CHECK(ds::summarize(merged)["train"] == json{{"ids", 4}, {"images", 6}, {"cameras", 6}});
    CHECK(pids_of(merged.train) == std::vector<std::int64_t>{0, 0, 1, 2, 0, 3});
    CHECK(merged.info["val_merged"] == true);
  }
  SUBCASE("--data-root may be the version folder itself") {
    fgreid::test::TempDir root;
    write_msmt17(root.path(), "MSMT17_V2", "mask_train_v2", "mask_test_v2");
    CHECK(ds::MSMT17::load(root / "MSMT17_V2", {}).train.size() == 4);
  }
}

TEST_CASE("a malformed MSMT17 tree is reported with the list and the image") {
  fgreid::test::TempDir root;
  write_msmt17(root.path(), "MSMT17_V2", "mask_train_v2", "mask_test_v2");
  const auto base = root / "MSMT17_V2";
  const auto load = [&] { (void)ds::MSMT17::load(root.path(), {}); };
  SUBCASE("no version folder") {
    fgreid::test::TempDir empty;
    CHECK(mentions(error_of([&] { (void)ds::MSMT17::load(empty.path(), {}); }), empty / "MSMT17_V2"));
  }
  SUBCASE("missing image folder") {
    fs::remove_all(base / "mask_test_v2");
    CHECK(mentions(error_of(load), base / "mask_test_v2"));
  }
  SUBCASE("missing list") {
    fs::remove(base / "list_val.txt");
    CHECK(mentions(error_of(load), base / "list_val.txt"));
  }
  SUBCASE("a listed image that is not there") {
    fs::remove(base / "mask_test_v2" / "0004" / "0004_001_10_0113noon_0002_0.jpg");
    const auto message = error_of(load);
    CHECK(mentions(message, base / "list_gallery.txt"));
    CHECK(mentions(message, base / "mask_test_v2" / "0004" / "0004_001_10_0113noon_0002_0.jpg"));
  }
  SUBCASE("a line without a pid, or with a bad one") {
    for (const auto* line : {"0000/0000_000_02_0113morning_0001_0.jpg\n",
                             "0000/0000_000_02_0113morning_0001_0.jpg x\n"}) {
      write_text(base / "list_query.txt", line);
      const auto message = error_of(load);
      CHECK(mentions(message, base / "list_query.txt"));
      CHECK(message.find(":1:") != std::string::npos);
    }
  }
  SUBCASE("a name without a camera field") {
    write_image(base / "mask_test_v2" / "0004" / "0004.jpg");
    write_text(base / "list_query.txt", "0004/0004.jpg 4\n");
    const auto message = error_of(load);
    CHECK(mentions(message, base / "list_query.txt"));
    CHECK(message.find("0004/0004.jpg") != std::string::npos);
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic MSMT17 is written in its release's layout and reads back") {
  fgreid::test::TempDir root;
  ds::MSMT17::synthesize(root.path(), {});
  const auto splits = ds::MSMT17::load(root.path(), {});
  CHECK(splits.info["version"] == "MSMT17_V2");
  CHECK(splits.num_train_ids() == 80);
  CHECK(id_set(splits.query).size() == 80);
  CHECK(ds::summarize(splits)["train"]["cameras"] == 15);
  CHECK(splits.info["val_images"].get<int>() > 40);
  const auto merged = ds::MSMT17::load(root.path(), {.msmt17_merge_val = true});
  CHECK(merged.train.size() == splits.train.size() + splits.info["val_images"].get<std::size_t>());
  check_learnable_layout(splits);
}
