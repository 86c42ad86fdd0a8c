// CUHK01 on small trees written here in the release's exact layout, checked against the seed's
// own Python code run on the same tree, its malformed variants, the validation split, and the
// synthetic stand-in. (What every dataset must do, test_policy_contracts.cpp checks.)
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "reference.hpp"
#include "dataset_support.hpp"

#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

/// CUHK01 with `identities` people × images 001..004, plus files no loader may read.
void write_cuhk01(const fs::path& folder, int identities) {
  for (int person = 1; person <= identities; ++person)
    for (int image = 1; image <= 4; ++image)
      write_image(folder / fmt::format("{:04d}{:03d}.png", person, image));
  write_text(folder / "Thumbs.db", "x");
  write_image(folder / "0001001.jpg");
  fs::create_directories(folder / "0999001.png");  // a folder named like an image
}

/// The seed's CUHK01 loader (tools/data_manager.py), verbatim but for the folder, on `folder`.
json seed_cuhk01(const fs::path& folder, int splits, int seed) {
  fgreid::test::TempDir dir;
  return fgreid::test::run_python_reference(fmt::format(R"(
import glob, json, os.path as osp, numpy as np
np.random.seed({seed})
splits = {splits}
campus_dir = {folder}
img_paths = sorted(glob.glob(osp.join(campus_dir, '*.png')))
img_list = []
pid_container = set()
for img_path in img_paths:
    if not osp.isfile(img_path): continue  # glob also matches a folder; the release has none
    img_name = osp.basename(img_path)
    pid = int(img_name[:4]) - 1
    camid = (int(img_name[4:7]) - 1) // 2
    img_list.append((img_path, pid, camid))
    pid_container.add(pid)
num_pids = len(pid_container)
num_train_pids = num_pids - splits
order = np.arange(num_pids)
np.random.shuffle(order)
train_idxs = np.sort(order[:num_train_pids])
idx2label = {{idx: label for label, idx in enumerate(train_idxs)}}
train, query, gallery = [], [], []
for img_path, pid, camid in img_list:
    if pid in train_idxs:
        train.append((img_path, int(idx2label[pid]), camid))
    elif camid == 0:
        query.append((img_path, pid + 1, camid))  # fgreid keeps the release's 1-based id
    else:
        gallery.append((img_path, pid + 1, camid))
print(json.dumps({{"train": train, "query": query, "gallery": gallery}}))
)", fmt::arg("seed", seed), fmt::arg("splits", splits),
                                                        fmt::arg("folder", json(folder.string()).dump())),
                                            dir);
}

}  // namespace

TEST_CASE("a CUHK01 name is read into person and image, others are not") {
  const auto name = ds::parse_cuhk01_name("0971004.png");
  REQUIRE(name);
  CHECK(name->person == 971);
  CHECK(name->image == 4);
  for (const auto* bad : {"0001005.png", "0001000.png", "001001.png", "0000001.png", "0001001.jpg",
                          "00010011.png", "0001001.png~", "a001001.png"}) {
    CAPTURE(bad);
    CHECK_FALSE(ds::parse_cuhk01_name(bad));
  }
}

TEST_CASE("CUHK01's test identities are the seed's numpy draw, for both protocols and several seeds") {
  for (const int seed : {1, 2, 3, 10}) {
    for (const int test_ids : {100, 485}) {
      CAPTURE(seed);
      CAPTURE(test_ids);
      fgreid::test::TempDir dir;
      const auto expected = fgreid::test::run_python_reference(fmt::format(R"(
import json, numpy as np
np.random.seed({})
order = np.arange(971)
np.random.shuffle(order)
train = np.sort(order[:971 - {}])
print(json.dumps(sorted(set(range(971)) - set(train.tolist()))))
)", seed, test_ids), dir);
      const auto ids = ds::cuhk01_test_ids(971, test_ids, static_cast<std::uint32_t>(seed));
      CHECK(ids.size() == static_cast<std::size_t>(test_ids));
      CHECK(json(ids) == expected);
    }
  }
}

TEST_CASE("a CUHK01 tree is split exactly as the seed's loader splits it, in either layout") {
  fgreid::test::TempDir root;
  write_cuhk01(root / "cuhk01" / "campus", 12);
  for (const int seed : {1, 4}) {
    CAPTURE(seed);
    const auto splits = ds::CUHK01::load(root.path(), {.split = 5, .split_seed = seed});
    const auto reference = seed_cuhk01(root / "cuhk01" / "campus", 5, seed);
    CHECK(triples(splits.train) == reference["train"]);
    CHECK(triples(splits.query) == reference["query"]);
    CHECK(triples(splits.gallery) == reference["gallery"]);
    CHECK(ds::summarize(splits)["train"] == json{{"ids", 7}, {"images", 28}, {"cameras", 2}});
    CHECK(ds::summarize(splits)["query"] == json{{"ids", 5}, {"images", 10}, {"cameras", 1}});
    CHECK(ds::summarize(splits)["gallery"] == json{{"ids", 5}, {"images", 10}, {"cameras", 1}});
    CHECK(splits.info["test_identities"] == json(id_set(splits.query)));
    CHECK(splits.info["split_seed"] == seed);
  }
  SUBCASE("the seed's flat folder, and --data-root at the release folder") {
    fgreid::test::TempDir flat;
    write_cuhk01(flat / "cuhk01", 12);
    const auto splits = ds::CUHK01::load(flat.path(), {.split = 5});
    CHECK(triples(splits.query) == seed_cuhk01(flat / "cuhk01", 5, 1)["query"]);
    CHECK(ds::CUHK01::load(root / "cuhk01", {.split = 5}).gallery.size() == 10);
  }
}

TEST_CASE("CUHK01's validation split holds out training identities only") {
  fgreid::test::TempDir root;
  write_cuhk01(root / "campus", 20);
  const auto official = ds::CUHK01::load(root.path(), {.split = 8});
  const auto held = ds::CUHK01::load(root.path(), {.split = 8, .held_out = {.validation = 0.25, .validation_seed = 3}});
  CHECK(held.num_train_ids() == 9);  // 12 training ids, floor(12 / 4) held out
  CHECK(id_set(held.query).size() == 3);
  const auto tested = id_set(official.query);
  for (const auto pid : id_set(held.query)) CHECK_FALSE(tested.contains(pid));
  CHECK(held.info["validation"]["held_out_ids"] == 3);
}

TEST_CASE("a malformed CUHK01 tree is reported with the path at fault") {
  fgreid::test::TempDir root;
  write_cuhk01(root / "campus", 6);
  const auto load = [&](int split = 2) { (void)ds::CUHK01::load(root.path(), {.split = split}); };
  SUBCASE("a name that does not parse") {
    write_image(root / "campus" / "0003005.png");
    CHECK(mentions(error_of([&] { load(); }), root / "campus" / "0003005.png"));
  }
  SUBCASE("a gap in the identities") {
    for (int image = 1; image <= 4; ++image) fs::remove(root / "campus" / fmt::format("0004{:03d}.png", image));
    const auto message = error_of([&] { load(); });
    CHECK(mentions(message, root / "campus"));
    CHECK(message.find("0004") != std::string::npos);
  }
  SUBCASE("a split that leaves nobody to train or test") {
    for (const int split : {0, 6, 100})
      CHECK(error_of<fgreid::UsageError>([&] { load(split); }).find(fmt::format("--split {}", split)) == 0);
  }
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic CUHK01 is read by its own loader") {
  fgreid::test::TempDir root;
  ds::CUHK01::synthesize(root / "cuhk01", {});
  const auto cuhk01 = ds::summarize(ds::CUHK01::load(root / "cuhk01", {}));
  CHECK(cuhk01["train"] == json{{"ids", 100}, {"images", 400}, {"cameras", 2}});
  CHECK(cuhk01["query"] == json{{"ids", 100}, {"images", 200}, {"cameras", 1}});
}
