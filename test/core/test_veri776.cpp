// VeRi-776 on small trees written here in the release's exact layout (write_veri, in
// dataset_support.hpp), its malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/veri776.hpp>
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

const json veri_summary = {{"train", {{"ids", 2}, {"images", 4}, {"cameras", 3}}},
                           {"query", {{"ids", 2}, {"images", 2}, {"cameras", 2}}},
                           {"gallery", {{"ids", 3}, {"images", 4}, {"cameras", 4}}}};

}  // namespace

TEST_CASE("a VeRi-776 name is read into vehicle, camera, frame and index, others are not") {
  const auto name = ds::parse_veri_name("0776_c020_00016450_12.jpg");
  REQUIRE(name);
  CHECK(name->vehicle == 776);
  CHECK(name->camera == 20);
  CHECK(name->frame == 16450);
  CHECK(name->index == 12);
  for (const auto* bad : {"0001_c01_00016450_0.jpg", "001_c001_00016450_0.jpg",
                          "0001_c001_0016450_0.jpg", "0001_c001_00016450.jpg",
                          "0001_c001_00016450_0.png", "0001_c001_00016450_0.jpg~"}) {
    CAPTURE(bad);
    CHECK_FALSE(ds::parse_veri_name(bad));
  }
}

TEST_CASE("a VeRi-776 release is read with its frames, extras and strays ignored") {
  fgreid::test::TempDir root;
  write_veri(root / "VeRi");
  const auto splits = ds::VeRi776::load(root.path(), {});
  CHECK(ds::summarize(splits) == veri_summary);
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 0, 1});
  CHECK(pids_of(splits.query) == std::vector<std::int64_t>{2, 5});
  CHECK(splits.train.at(2).frame == 87500);
  CHECK(splits.train.at(2).camid == 13);
  CHECK(splits.query.at(1).frame == 84125);
  CHECK(splits.query.at(1).camid == 18);

  fgreid::test::TempDir flat;
  write_veri(flat.path());
  CHECK(ds::summarize(ds::VeRi776::load(flat.path(), {})) == veri_summary);
}

TEST_CASE("a malformed VeRi-776 tree is reported with the path at fault") {
  fgreid::test::TempDir root;
  write_veri(root.path());
  SUBCASE("missing folder") {
    fs::remove_all(root / "image_train");
    CHECK(mentions(error_of([&] { (void)ds::VeRi776::load(root.path(), {}); }), root / "image_train"));
  }
  for (const auto* name : {"0002_c02_00030605_0.jpg", "0002_c021_00030605_0.jpg",
                           "0777_c001_00030605_0.jpg", "0000_c001_00030605_0.jpg"}) {
    CAPTURE(name);
    fgreid::test::TempDir tree;
    write_veri(tree.path());
    write_image(tree / "image_query" / name);
    CHECK(mentions(error_of([&] { (void)ds::VeRi776::load(tree.path(), {}); }),
                   tree / "image_query" / name));
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic VeRi-776 is written in its release's layout and reads back") {
  fgreid::test::TempDir root;
  ds::VeRi776::synthesize(root.path(), {});
  const auto splits = ds::VeRi776::load(root.path(), {});
  CHECK(splits.num_train_ids() == 80);
  CHECK(id_set(splits.query).size() == 60);
  CHECK(ds::summarize(splits)["train"]["cameras"] == 20);
  for (const auto& entry : splits.gallery) CHECK(entry.frame >= 0);
  check_learnable_layout(splits);
}
