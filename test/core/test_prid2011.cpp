// PRID-2011 on small trees written here in the release's exact layout, splits_prid2011.json
// read or written, its malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/prid2011.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dataset_support.hpp"

#include <array>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

void write_prid(const fs::path& base) {
  const auto shots = base / "prid_2011" / "multi_shot";
  const std::map<std::string, std::array<int, 2>> persons{
      {"person_0001", {5, 3}}, {"person_0002", {2, 7}}, {"person_0003", {4, 4}},
      {"person_0004", {1, 2}}, {"person_0201", {3, 3}}};  // 0201: another person in each camera
  for (const auto& [person, frames] : persons)
    for (int camera = 0; camera < 2; ++camera)
      for (int f = 1; f <= frames[static_cast<std::size_t>(camera)]; ++f)
        write_image(shots / (camera == 0 ? "cam_a" : "cam_b") / person / fmt::format("{:04d}.png", f));
  write_image(shots / "cam_b" / "person_0202" / "0001.png");
}

}  // namespace

TEST_CASE("PRID-2011 reads splits_prid2011.json, and writes seeded halves when it is absent") {
  fgreid::test::TempDir root;
  write_prid(root / "prid2011");
  const auto file = root / "prid2011" / "splits_prid2011.json";
  SUBCASE("the file of torchreid and the seed") {
    write_text(file, R"([{"train": ["person_0001", "person_0003"], "test": ["person_0004", "person_0002"]}])");
    const auto splits = ds::PRID2011::load(root.path(), {});
    CHECK(ds::summarize_video(splits)["train"] == subset(2, 4, 2, 16, 3, 4.0, 5));
    CHECK(ds::summarize_video(splits)["query"] == subset(2, 2, 1, 3, 1, 1.5, 2));
    CHECK(ds::summarize_video(splits)["gallery"] == subset(2, 2, 1, 9, 2, 4.5, 7));
    CHECK(pids_of(splits.query) == std::vector<std::int64_t>{4, 2});  // in the file's order
    CHECK(splits.info["split_file_created"] == false);
    CHECK(error_of<fgreid::UsageError>([&] { (void)ds::PRID2011::load(root.path(), {.split_index = 1}); })
              .find("--split-index 1") != std::string::npos);
  }
  SUBCASE("a split naming a person that is not there, or a malformed file") {
    write_text(file, R"([{"train": ["person_0001"], "test": ["person_0009"]}])");
    auto message = error_of([&] { (void)ds::PRID2011::load(root.path(), {}); });
    CHECK(mentions(message, (root / "prid2011" / "prid_2011" / "multi_shot" / "cam_a" / "person_0009").string()));
    CHECK(mentions(message, file.string()));
    write_text(file, R"({"train": []})");
    CHECK(mentions(error_of([&] { (void)ds::PRID2011::load(root.path(), {}); }), file.string()));
    write_text(file, R"([{"train": ["person_0001"]}])");
    CHECK(mentions(error_of([&] { (void)ds::PRID2011::load(root.path(), {}); }), "no \"test\" list"));
  }
  SUBCASE("absent: ten random halves of persons 1..200 seen by both cameras, written and reused") {
    const auto first = ds::PRID2011::load(root.path(), {.split_index = 3, .split_seed = 7});
    REQUIRE(fs::exists(file));
    CHECK(first.info["split_file_created"] == true);
    const auto written = json::parse(std::ifstream(file));
    const std::vector<std::string> both{"person_0001", "person_0002", "person_0003", "person_0004"};
    CHECK(written == ds::random_person_halves(both, 7));
    REQUIRE(written.size() == 10);
    for (const auto& split : written) {
      CHECK(split["train"].size() == 2);
      CHECK(split["test"].size() == 2);
      std::set<std::string> all;
      for (const auto& side : {"train", "test"})
        for (const auto& person : split[side]) all.insert(person.get<std::string>());
      CHECK(all == std::set<std::string>(both.begin(), both.end()));  // never person_0201
    }
    const auto again = ds::PRID2011::load(root.path(), {.split_index = 3, .split_seed = 99});
    CHECK(again.info["split_file_created"] == false);  // the file is read, its seed no longer matters
    CHECK(pids_of(again.query) == pids_of(first.query));
    CHECK(ds::random_person_halves(both, 7) != ds::random_person_halves(both, 8));
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic PRID-2011 is read back by its loader with the planned counts" *
          doctest::timeout(600)) {
  // the recipes' cache key: written once for the tests and the end-to-end runs
  const auto prid = ds::ensure_synthetic("prid2011-v1", [](const fs::path& r) { ds::write_synthetic_prid2011(r); });
  const auto p = ds::summarize_video(ds::PRID2011::load(prid, {}));
  CHECK(p["train"]["ids"] == 40);
  CHECK(p["query"]["ids"] == 40);
  CHECK(p["split"]["split_file_created"] == false);
}
