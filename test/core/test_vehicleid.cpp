// VehicleID on small trees written here in the release's exact layout, checked against the
// seed's own Python code run on the same tree (and the seed's random generators that its gallery
// draw and CUHK01's split use), its malformed variants, the validation split, the repeated
// gallery draws (--trials), and the synthetic stand-in.
#include <fgreid/datasets/legacy_random.hpp>
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "reference.hpp"
#include "dataset_support.hpp"

#include <numeric>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

}  // namespace

// --- the seed's random generators ------------------------------------------------------------

TEST_CASE("numpy's legacy shuffle and CPython's random.choice are reproduced bit for bit") {
  fgreid::test::TempDir dir;
  const auto numpy = fgreid::test::run_python_reference(R"(
import json, random, numpy as np
out = {"shuffles": {}, "choices": {}}
for seed in [0, 1, 2, 7, 10, 12345, 4294967295]:
    for n in [1, 2, 5, 971, 1000]:
        np.random.seed(seed)
        order = np.arange(n)
        np.random.shuffle(order)
        out["shuffles"][f"{seed}/{n}"] = order.tolist()
for seed in [0, 1, 2, 10, 2**40 + 3, -5]:
    random.seed(seed)
    counts = [1, 2, 3, 7, 8, 16, 17, 100, 5, 1, 33, 2**20 + 1]
    out["choices"][str(seed)] = [counts, [random.choice(list(range(c))) for c in counts]]
print(json.dumps(out))
)", dir);
  for (const auto& [key, expected] : numpy["shuffles"].items()) {
    CAPTURE(key);
    const auto slash = key.find('/');
    const auto seed = static_cast<std::uint32_t>(std::stoul(key.substr(0, slash)));
    const auto n = std::stoi(key.substr(slash + 1));
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    auto rng = ds::LegacyMT19937::numpy(seed);
    ds::numpy_shuffle(order, rng);
    CHECK(json(order) == expected);
  }
  for (const auto& [key, expected] : numpy["choices"].items()) {
    CAPTURE(key);
    const auto counts = expected[0].get<std::vector<std::size_t>>();
    CHECK(json(ds::vehicleid_gallery_draw(counts, std::stoll(key))) == expected[1]);
  }
}

// --- VehicleID -------------------------------------------------------------------------------

namespace {

struct ListLine {
  std::string name;
  int vehicle;
};

/// A VehicleID release: interleaved lines, a one-image vehicle, an unlisted image.
void write_vehicleid(const fs::path& base) {
  const std::vector<ListLine> train{{"0000001", 3}, {"0000002", 3}, {"0000003", 17}, {"0000004", 3},
                                    {"0000005", 17}, {"0000006", 250}};
  const std::vector<ListLine> test{{"0000101", 9}, {"0000102", 9}, {"0000103", 40}, {"0000104", 9},
                                   {"0000105", 12}, {"0000106", 40}, {"0000107", 9}, {"0000108", 40},
                                   {"0000109", 12}, {"0000110", 5}, {"0000111", 9}, {"0000112", 12}};
  std::string train_text, test_text;
  for (const auto& [name, vehicle] : train) {
    write_image(base / "image" / (name + ".jpg"));
    train_text += fmt::format("{} {}\n", name, vehicle);
  }
  for (const auto& [name, vehicle] : test) {
    write_image(base / "image" / (name + ".jpg"));
    test_text += fmt::format("{} {}\n", name, vehicle);
  }
  write_text(base / "train_test_split" / "train_list.txt", train_text);
  write_text(base / "train_test_split" / "test_list_800.txt", test_text);
  write_image(base / "image" / "0000113.jpg");
  write_text(base / "train_test_split" / "test_list_1600.txt", test_text + "0000113 77\n");
  write_image(base / "image" / "0009999.jpg");
  write_text(base / "attribute" / "color_attr.txt", "0000001 0\n");  // the release's extras
}

/// The seed's VehicleID split (tools/data_manager.py process_split), verbatim but for the
/// folders and its count asserts, on `base`.
json seed_vehicleid(const fs::path& base, int test_size, int seed) {
  fgreid::test::TempDir dir;
  return fgreid::test::run_python_reference(fmt::format(R"(
import json, random, os.path as osp
from collections import defaultdict
random.seed({seed})
dataset_dir = {base}
img_dir = osp.join(dataset_dir, 'image')
split_dir = osp.join(dataset_dir, 'train_test_split')
def parse_img_pids(nl_pairs, camid):
    return [(osp.join(img_dir, name + '.jpg'), int(pid), camid) for name, pid in nl_pairs]
train_pid_dict = defaultdict(list)
with open(osp.join(split_dir, 'train_list.txt')) as f_train:
    for data in f_train.readlines():
        name, pid = data.split(' ')
        pid = int(pid)
        train_pid_dict[pid].append([name, pid])
test_pid_dict = defaultdict(list)
with open(osp.join(split_dir, 'test_list_{size}.txt')) as f_test:
    for data in f_test.readlines():
        name, pid = data.split(' ')
        test_pid_dict[pid].append([name, pid])
train_data, query_data, gallery_data = [], [], []
for pid in train_pid_dict.keys():
    train_data.extend(train_pid_dict[pid])
for pid in test_pid_dict.keys():
    imginfo = test_pid_dict[pid]
    sample = random.choice(imginfo)
    imginfo.remove(sample)
    query_data.extend(imginfo)
    gallery_data.append(sample)
# cameras: fgreid's (queries 0, gallery 1) for the seed's camera 1 everywhere
print(json.dumps({{"query": parse_img_pids(query_data, 0), "gallery": parse_img_pids(gallery_data, 1),
                  "train_ids": len(train_pid_dict), "train_images": len(train_data)}}))
)", fmt::arg("seed", seed), fmt::arg("size", test_size), fmt::arg("base", json(base.string()).dump())),
                                            dir);
}

}  // namespace

TEST_CASE("a VehicleID release gets the seed's gallery draw, for several seeds and both lists") {
  fgreid::test::TempDir root;
  write_vehicleid(root / "VehicleID_V1.0");
  const auto base = root / "VehicleID_V1.0";
  for (const int test_size : {800, 1600}) {
    for (const int seed : {1, 2, 5, 10}) {
      CAPTURE(test_size);
      CAPTURE(seed);
      const auto splits = ds::VehicleID::load(root.path(), {.test_size = test_size, .gallery_seed = seed});
      const auto reference = seed_vehicleid(base, test_size, seed);
      CHECK(triples(splits.query) == reference["query"]);
      CHECK(triples(splits.gallery) == reference["gallery"]);
      CHECK(ds::summarize(splits)["train"] == json{{"ids", 3}, {"images", 6}, {"cameras", 1}});
      CHECK(splits.num_train_ids() == reference["train_ids"].get<std::int64_t>());
      CHECK(splits.gallery.size() == (test_size == 800 ? 4 : 5));  // one per vehicle, one-image ones too
      CHECK(splits.query.size() == 12 - 4);
    }
  }
  const auto splits = ds::VehicleID::load(base, {});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 0, 1, 1, 2});  // grouped, as the seed
  CHECK(splits.train.at(5).images.front() == base / "image" / "0000006.jpg");
  CHECK(splits.info["test_list"] == "test_list_800.txt");
  CHECK(splits.info["test_vehicles"] == 4);
}

TEST_CASE("VehicleID's validation split tests held-out training vehicles by the release's protocol") {
  fgreid::test::TempDir root;
  write_vehicleid(root.path());
  const auto held = ds::VehicleID::load(root.path(), {.held_out = {.validation = 0.5, .validation_seed = 2}});
  CHECK(held.num_train_ids() == 2);
  REQUIRE(id_set(held.gallery).size() == 1);
  CHECK(held.gallery.size() == 1);
  CHECK(id_set(held.query).size() <= 1);
  const std::set<std::int64_t> train_ids{3, 17, 250};
  CHECK(train_ids.contains(*id_set(held.gallery).begin()));
  CHECK(held.info["validation"]["official_test_images_unused"] == 12);
}

TEST_CASE("a malformed VehicleID tree is reported with the list and the image") {
  fgreid::test::TempDir root;
  write_vehicleid(root.path());
  const auto split = root / "train_test_split";
  const auto load = [&](int size = 800) { (void)ds::VehicleID::load(root.path(), {.test_size = size}); };
  SUBCASE("a missing folder") {
    fs::remove_all(root / "image");
    CHECK(mentions(error_of([&] { load(); }), root / "image"));
  }
  SUBCASE("a test list that is not there") {
    CHECK(mentions(error_of([&] { load(2400); }), split / "test_list_2400.txt"));
  }
  SUBCASE("a listed image that is not there") {
    fs::remove(root / "image" / "0000104.jpg");
    const auto message = error_of([&] { load(); });
    CHECK(mentions(message, split / "test_list_800.txt"));
    CHECK(mentions(message, root / "image" / "0000104.jpg"));
  }
  SUBCASE("a line without a vehicle, or a bad one") {
    for (const auto* text : {"0000001\n", "0000001 x\n", "0000001 3 4\n"}) {
      write_text(split / "train_list.txt", text);
      const auto message = error_of([&] { load(); });
      CHECK(mentions(message, split / "train_list.txt"));
      CHECK(message.find(":1:") != std::string::npos);
    }
  }
  SUBCASE("a test size that is no list") {
    CHECK(error_of<fgreid::UsageError>([&] { load(0); }).find("--test-size 0") == 0);
  }
}

// --- repeated gallery draws (--trials): draw t is the draw of --gallery-seed S + t -------------

namespace {
std::vector<std::string> names(const std::vector<ds::Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) out.push_back(entry.images.front().filename().string());
  return out;
}
}  // namespace

TEST_CASE("VehicleID --trials N adds the draws of the next N-1 gallery seeds") {
  fgreid::test::TempDir root;
  ds::write_synthetic_vehicleid(root.path());
  const auto splits = ds::VehicleID::load(root.path(), {.test_size = 800, .gallery_seed = 5, .trials = 3});
  REQUIRE(splits.trials.size() == 2);
  CHECK(splits.info["trials"] == 3);
  for (int t = 1; t < 3; ++t) {
    CAPTURE(t);
    const auto single = ds::VehicleID::load(root.path(), {.test_size = 800, .gallery_seed = 5 + t, .trials = 1});
    CHECK(single.trials.empty());
    CHECK(names(splits.trials[t - 1].query) == names(single.query));
    CHECK(names(splits.trials[t - 1].gallery) == names(single.gallery));
    // the same test images, another partition
    CHECK(splits.trials[t - 1].query.size() + splits.trials[t - 1].gallery.size() ==
          splits.query.size() + splits.gallery.size());
    CHECK(names(splits.trials[t - 1].gallery) != names(splits.gallery));
  }
  CHECK_THROWS_AS(ds::VehicleID::load(root.path(), {.test_size = 800, .gallery_seed = 1, .trials = 0}),
                  fgreid::UsageError);
}

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic VehicleID is read by its own loader") {
  fgreid::test::TempDir root;
  ds::VehicleID::synthesize(root / "vehicleid", {});
  const auto vehicleid = ds::VehicleID::load(root / "vehicleid", {});
  CHECK(vehicleid.num_train_ids() == 120);
  CHECK(id_set(vehicleid.gallery).size() == 40);
  CHECK(vehicleid.gallery.size() == 40);
  CHECK(ds::VehicleID::load(root / "vehicleid", {.test_size = 2400}).gallery.size() == 120);
}
