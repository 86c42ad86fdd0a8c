// The validation split (--validation, --validation-seed) that every dataset carves out of its
// training identities: draw_validation_ids and finish_splits, and the image datasets that take it.
// (Datasets whose options hold more than the split, held_out, test theirs in their own files.)
#include <fgreid/datasets/dukemtmcreid.hpp>
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/datasets/veri776.hpp>
#include <fgreid/datasets/vric.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dataset_support.hpp"

#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

}  // namespace

TEST_CASE("the validation split holds out a seeded fraction of the training ids, the seed's way") {
  // 10 training ids, 3 images each on cameras 1..3: ids 10, 20, ..., 100
  std::vector<ds::Entry> train;
  for (std::int64_t pid = 10; pid <= 100; pid += 10)
    for (int camera = 0; camera < 3; ++camera)
      train.push_back({.images = {fmt::format("{}_{}.jpg", pid, camera)}, .pid = pid, .camid = camera, .frame = camera});
  const std::vector<ds::Entry> official{{.images = {"q.jpg"}, .pid = 500, .camid = 0, .frame = -1}};

  const auto splits = ds::finish_splits(train, official, official, {.validation = 0.35, .validation_seed = 7});
  const auto held = ds::draw_validation_ids(pids_of(train), {.validation = 0.35, .validation_seed = 7});
  REQUIRE(held.size() == 3);  // floor(0.35 × 10)
  const std::set<std::int64_t> held_set(held.begin(), held.end());
  CHECK(id_set(splits.query) == held_set);
  CHECK(splits.query.size() == 9);
  // the gallery: every training image with its release id, held-out ones included
  CHECK(splits.gallery.size() == 30);
  CHECK(id_set(splits.gallery).size() == 10);
  CHECK_FALSE(id_set(splits.gallery).contains(500));
  // the rest train, relabelled 0..6
  CHECK(splits.train.size() == 21);
  CHECK(id_set(splits.train) == std::set<std::int64_t>{0, 1, 2, 3, 4, 5, 6});
  std::set<std::string> train_files, query_files;
  for (const auto& entry : splits.train) train_files.insert(entry.images.front().string());
  for (const auto& entry : splits.query) query_files.insert(entry.images.front().string());
  for (const auto& file : query_files) CHECK_FALSE(train_files.contains(file));
  for (const auto& entry : splits.train) CHECK_FALSE(held_set.contains(std::stoll(entry.images.front().string())));
  CHECK(splits.info["validation"]["held_out_ids"] == 3);
  CHECK(splits.info["validation"]["seed"] == 7);

  SUBCASE("the same seed draws the same ids; seeds differ") {
    CHECK(ds::draw_validation_ids(pids_of(train), {.validation = 0.35, .validation_seed = 7}) == held);
    std::set<std::vector<std::int64_t>> draws;
    for (std::int64_t seed = 1; seed <= 8; ++seed)
      draws.insert(ds::draw_validation_ids(pids_of(train), {.validation = 0.35, .validation_seed = seed}));
    CHECK(draws.size() > 4);
  }
  SUBCASE("half, as the seed's market_sub, floors an odd count") {
    auto odd = train;
    odd.resize(27);  // 9 ids
    CHECK(ds::draw_validation_ids(pids_of(odd), {.validation = 0.5, .validation_seed = 1}).size() == 4);
  }
  SUBCASE("a fraction outside (0, 1), or one that holds out nobody, is a usage error") {
    for (const double fraction : {-0.1, 1.0, 1.5, 0.05})
      CHECK_THROWS_AS((void)ds::draw_validation_ids(pids_of(train), {.validation = fraction, .validation_seed = 1}),
                      fgreid::UsageError);
  }
  SUBCASE("without a fraction the official split is kept untouched") {
    const auto plain = ds::finish_splits(train, official, official, {});
    CHECK(plain.query.size() == 1);
    CHECK(plain.train.size() == 30);
    CHECK(plain.info.empty());
  }
}

TEST_CASE("every image dataset, Market-1501 included, takes --validation") {
  fgreid::test::TempDir root;
  write_duke(root / "duke");
  const auto duke = ds::DukeMTMCreID::load(root / "duke", {.validation = 0.5, .validation_seed = 3});
  CHECK(duke.num_train_ids() == 2);
  CHECK(id_set(duke.query).size() == 1);
  CHECK(duke.gallery.size() == 6);

  write_veri(root / "veri");
  const auto veri = ds::VeRi776::load(root / "veri", {.validation = 0.5, .validation_seed = 1});
  CHECK(veri.num_train_ids() == 1);
  CHECK(veri.gallery.size() == 4);

  write_vric(root / "vric");
  CHECK(ds::VRIC::load(root / "vric", {.validation = 0.4, .validation_seed = 1}).num_train_ids() == 2);

  write_msmt17(root / "msmt", "MSMT17_V1", "train", "test");
  const auto msmt = ds::MSMT17::load(root / "msmt", {.msmt17_merge_val = true, .held_out = {.validation = 0.5, .validation_seed = 1}});
  CHECK(msmt.num_train_ids() == 2);
  CHECK(msmt.gallery.size() == 6);

  for (const auto* name : {"0007_c1s1_000100_01.jpg", "0007_c2s1_000900_01.jpg", "0003_c3s1_000050_01.jpg",
                           "0003_c4s2_000010_01.jpg", "0100_c6s4_000200_01.jpg", "0100_c1s4_000200_01.jpg"})
    write_image(root / "market" / "bounding_box_train" / name);
  fs::create_directories(root / "market" / "query");
  fs::create_directories(root / "market" / "bounding_box_test");
  const auto market = ds::Market1501::load(root / "market", {.validation = 0.34, .validation_seed = 2});
  CHECK(market.num_train_ids() == 2);
  CHECK(market.query.size() == 2);
  CHECK(market.gallery.size() == 6);
}
