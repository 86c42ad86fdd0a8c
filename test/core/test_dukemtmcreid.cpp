// DukeMTMC-reID on small trees written here in the release's exact layout (write_duke, in
// dataset_support.hpp), its malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/dukemtmcreid.hpp>
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

const json duke_summary = {{"train", {{"ids", 3}, {"images", 6}, {"cameras", 5}}},
                           {"query", {{"ids", 2}, {"images", 3}, {"cameras", 3}}},
                           {"gallery", {{"ids", 4}, {"images", 5}, {"cameras", 4}}}};

}  // namespace

TEST_CASE("a DukeMTMC-reID name is read into person, camera and frame, others are not") {
  const auto name = ds::parse_duke_name("0005_c2_f0046182.jpg");
  REQUIRE(name);
  CHECK(name->pid == 5);
  CHECK(name->camera == 2);
  CHECK(name->frame == 46182);
  for (const auto* bad : {"0005_c2_f0046182.png", "0005_c2s1_0046182.jpg", "0005_c2_0046182.jpg",
                          "-1_c2_f0046182.jpg", "0005_c2_f.jpg", "0005_c2_f0046182_01.jpg", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(ds::parse_duke_name(bad));
  }
}

TEST_CASE("a DukeMTMC-reID release is read with its distractors, stray files ignored") {
  fgreid::test::TempDir root;
  write_duke(root / "DukeMTMC-reID");
  const auto splits = ds::DukeMTMCreID::load(root.path(), {});
  CHECK(ds::summarize(splits) == duke_summary);
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 1, 1, 1, 2});  // 1, 5, 370
  CHECK(pids_of(splits.gallery) == std::vector<std::int64_t>{2, 11, 11, 5388, 7140});
  const auto& entry = splits.train.at(2);  // 0005_c2_f0046182.jpg
  CHECK(entry.images.front() == root.path() / "DukeMTMC-reID" / "bounding_box_train" / "0005_c2_f0046182.jpg");
  CHECK(entry.camid == 1);
  CHECK(entry.frame == 46182);
  CHECK(splits.train.at(1).camid == 7);

  SUBCASE("unpacked without its top folder, the same") {
    fgreid::test::TempDir flat;
    write_duke(flat.path());
    CHECK(ds::summarize(ds::DukeMTMCreID::load(flat.path(), {})) == duke_summary);
  }
}

TEST_CASE("a malformed DukeMTMC-reID tree is reported with the path at fault") {
  fgreid::test::TempDir root;
  write_duke(root.path());
  SUBCASE("missing folder") {
    fs::remove_all(root / "query");
    const auto message = error_of([&] { (void)ds::DukeMTMCreID::load(root.path(), {}); });
    CHECK(mentions(message, root / "query"));
  }
  SUBCASE("a name that does not parse, or a camera beyond c8") {
    for (const auto* name : {"0005_c2s1_000451_01.jpg", "0005_c9_f0000001.jpg", "0000_c1_f0000001.jpg"}) {
      CAPTURE(name);
      fgreid::test::TempDir tree;
      write_duke(tree.path());
      write_image(tree / "bounding_box_test" / name);
      const auto message = error_of([&] { (void)ds::DukeMTMCreID::load(tree.path(), {}); });
      CHECK(mentions(message, tree / "bounding_box_test" / name));
    }
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic DukeMTMC-reID is written in its release's layout and reads back") {
  fgreid::test::TempDir root;
  ds::DukeMTMCreID::synthesize(root.path(), {});
  CHECK(fs::is_directory(root / "DukeMTMC-reID" / "bounding_box_train"));
  const auto splits = ds::DukeMTMCreID::load(root.path(), {});
  const auto summary = ds::summarize(splits);
  CHECK(summary["train"]["ids"] == 80);
  CHECK(summary["query"]["ids"] == 80);
  CHECK(summary["gallery"]["ids"] == 100);  // 20 distractors
  CHECK(summary["train"]["cameras"] == 8);
  check_learnable_layout(splits);
}
