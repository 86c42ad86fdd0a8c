// CUHK01, VehicleID, GRID and CUHK03 on small trees written here in each release's exact
// layout, checked against the seed's (or torchreid's) own Python code run on the same tree,
// their malformed variants, the validation split, and the synthetic stand-ins.
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/datasets/cuhk03.hpp>
#include <fgreid/datasets/grid.hpp>
#include <fgreid/datasets/legacy_random.hpp>
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "reference.hpp"
#include "dataset_support.hpp"

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

/// [[path, pid, camid], ...] with pids renumbered 0, 1, ... in order of first appearance: lists
/// compared with a reference that numbers identities its own way.
json canonical(const std::vector<ds::Entry>& entries) {
  std::map<std::int64_t, std::int64_t> number;
  json list = json::array();
  for (const auto& entry : entries) {
    const auto [it, fresh] = number.emplace(entry.pid, static_cast<std::int64_t>(number.size()));
    list.push_back({entry.images.front().string(), it->second, entry.camid});
  }
  return list;
}

/// [[path, pid, camid], ...] of `entries`, for comparing with a Python reference's lists.
json triples(const std::vector<ds::Entry>& entries) {
  json list = json::array();
  for (const auto& entry : entries)
    list.push_back({entry.images.front().string(), entry.pid, entry.camid});
  return list;
}

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

// --- CUHK01 ----------------------------------------------------------------------------------

namespace {

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
  const auto held = ds::CUHK01::load(root.path(), {.split = 8, .validation = 0.25, .validation_seed = 3});
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
  SUBCASE("no images") {
    fgreid::test::TempDir empty;
    CHECK(mentions(error_of([&] { (void)ds::CUHK01::load(empty.path(), {}); }), empty.path()));
  }
  SUBCASE("a split that leaves nobody to train or test") {
    for (const int split : {0, 6, 100})
      CHECK(error_of<fgreid::UsageError>([&] { load(split); }).find(fmt::format("--split {}", split)) == 0);
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
  const auto held = ds::VehicleID::load(root.path(), {.validation = 0.5, .validation_seed = 2});
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

// --- GRID ------------------------------------------------------------------------------------

namespace {

/// GRID: six paired identities, three distractors, strays; splits of three training ids.
void write_grid(const fs::path& base) {
  for (const auto* name : {"0001_1_25004_107_32_130.jpeg", "0002_3_25100_229_94_99.jpeg",
                           "0003_5_00010_1_2_3.jpeg", "0004_2_99999_5_5_40.jpeg",
                           "0005_7_12000_10_10_50.jpeg", "0006_8_12001_11_12_50.jpeg"})
    write_image(base / "probe" / name);
  for (const auto* name : {"0001_2_25010_100_30_120.jpeg", "0002_4_25200_200_90_99.jpeg",
                           "0003_6_00020_1_2_3.jpeg", "0004_1_99990_5_5_40.jpeg",
                           "0005_8_12100_10_10_50.jpeg", "0006_7_12101_11_12_50.jpeg",
                           "0000_3_30000_1_1_60.jpeg", "0000_3_30001_1_1_60.jpeg", "0000_8_4_4_4_4.jpeg"})
    write_image(base / "gallery" / name);
  write_image(base / "gallery" / "0007_1_1_1_1_1.jpg");  // not .jpeg: not an image of the release
  write_text(base / "probe" / "Thumbs.db", "x");
  std::vector<std::vector<std::int64_t>> splits;
  for (int s = 0; s < 10; ++s)
    splits.push_back({s % 6 + 1, (s + 1) % 6 + 1, (s + 3) % 6 + 1});
  ds::write_grid_partitions(base / "features_and_partitions.mat", splits);
}

}  // namespace

TEST_CASE("a GRID name is read into person and camera, others are not") {
  const auto name = ds::parse_grid_name("0005_2_25100_229_94_99_249.jpeg");
  REQUIRE(name);
  CHECK(name->person == 5);
  CHECK(name->camera == 2);
  CHECK(ds::parse_grid_name("0000_8_1.jpeg")->person == 0);
  for (const auto* bad : {"0005_9_1.jpeg", "0005_0_1.jpeg", "005_2_1.jpeg", "0005_2_1.jpg", "0005_2.jpeg",
                          "0005-2_1.jpeg"}) {
    CAPTURE(bad);
    CHECK_FALSE(ds::parse_grid_name(bad));
  }
}

TEST_CASE("GRID's ten splits are torchreid's, read from the same .mat with scipy") {
  fgreid::test::TempDir root;
  const auto base = root / "grid" / "underground_reid";
  write_grid(base);
  fgreid::test::TempDir dir;
  // torchreid's GRID.prepare_split, verbatim but for the folders, the split size and the
  // training labels (ascending ids, fgreid's rule, instead of the .mat's order).
  const auto reference = fgreid::test::run_python_reference(fmt::format(R"(
import glob, json, os.path as osp
from scipy.io import loadmat
base = {}
split_mat = loadmat(osp.join(base, 'features_and_partitions.mat'))
trainIdxAll = split_mat['trainIdxAll'][0]
probe_img_paths = sorted(glob.glob(osp.join(base, 'probe', '*.jpeg')))
gallery_img_paths = sorted(glob.glob(osp.join(base, 'gallery', '*.jpeg')))
splits = []
for split_idx in range(10):
    train_idxs = trainIdxAll[split_idx][0][0][2][0].tolist()
    assert len(train_idxs) == 3
    idx2label = {{idx: label for label, idx in enumerate(sorted(train_idxs))}}
    train, query, gallery = [], [], []
    for img_path in probe_img_paths:
        img_name = osp.basename(img_path)
        img_idx = int(img_name.split('_')[0])
        camid = int(img_name.split('_')[1]) - 1
        if img_idx in train_idxs:
            train.append((img_path, idx2label[img_idx], camid))
        else:
            query.append((img_path, img_idx, camid))
    for img_path in gallery_img_paths:
        img_name = osp.basename(img_path)
        img_idx = int(img_name.split('_')[0])
        camid = int(img_name.split('_')[1]) - 1
        if img_idx in train_idxs:
            train.append((img_path, idx2label[img_idx], camid))
        else:
            gallery.append((img_path, img_idx, camid))
    splits.append({{'train': train, 'query': query, 'gallery': gallery}})
print(json.dumps(splits))
)", json(base.string()).dump()), dir);
  REQUIRE(reference.size() == 10);
  for (int split = 0; split < 10; ++split) {
    CAPTURE(split);
    const auto splits = ds::GRID::load(root.path(), {.split_index = split});
    CHECK(triples(splits.train) == reference[split]["train"]);
    CHECK(triples(splits.query) == reference[split]["query"]);
    CHECK(triples(splits.gallery) == reference[split]["gallery"]);
    CHECK(ds::summarize(splits)["train"]["ids"] == 3);
    CHECK(ds::summarize(splits)["train"]["images"] == 6);
    CHECK(ds::summarize(splits)["query"] == json{{"ids", 3}, {"images", 3}, {"cameras", 3}});
    CHECK(ds::summarize(splits)["gallery"]["ids"] == 4);  // three people and the distractors (0)
    CHECK(ds::summarize(splits)["gallery"]["images"] == 6);
    CHECK(splits.info["split_index"] == split);
  }
  SUBCASE("--data-root may be underground_reid/ itself, or hold GRID/") {
    CHECK(ds::GRID::load(base, {.split_index = 4}).query.size() == 3);
    fgreid::test::TempDir upper;
    write_grid(upper / "GRID" / "underground_reid");
    CHECK(ds::GRID::load(upper.path(), {}).gallery.size() == 6);
  }
  SUBCASE("validation: held-out training ids, the split's test set unused") {
    const auto held = ds::GRID::load(root.path(), {.split_index = 2, .validation = 0.5});
    CHECK(held.num_train_ids() == 2);
    CHECK(id_set(held.query).size() == 1);
    CHECK(held.info["validation"]["official_test_images_unused"] == 9);
  }
}

TEST_CASE("a malformed GRID tree is reported with the file, or the .mat and its variable") {
  fgreid::test::TempDir root;
  const auto base = root / "underground_reid";
  write_grid(base);
  const auto load = [&](int split = 0) { (void)ds::GRID::load(root.path(), {.split_index = split}); };
  SUBCASE("a missing folder") {
    fs::remove_all(base / "gallery");
    CHECK(mentions(error_of([&] { load(); }), base / "gallery"));
  }
  SUBCASE("a missing .mat") {
    fs::remove(base / "features_and_partitions.mat");
    CHECK(mentions(error_of([&] { load(); }), base / "features_and_partitions.mat"));
  }
  SUBCASE("a .mat that is not one") {
    write_text(base / "features_and_partitions.mat", "not a MAT-file\n");
    CHECK(mentions(error_of([&] { load(); }), base / "features_and_partitions.mat"));
  }
  SUBCASE("a .mat without trainIdxAll") {
    ds::write_cuhk03_protocol(base / "features_and_partitions.mat", {});  // other variables
    const auto message = error_of([&] { load(); });
    CHECK(mentions(message, base / "features_and_partitions.mat"));
    CHECK(message.find("'trainIdxAll'") != std::string::npos);
  }
  SUBCASE("a split that is not there") {
    CHECK(error_of<fgreid::UsageError>([&] { load(10); }).find("--split-index 10") == 0);
  }
  SUBCASE("a name that does not parse") {
    write_image(base / "probe" / "0007_9_1_1_1_1.jpeg");
    CHECK(mentions(error_of([&] { load(); }), base / "probe" / "0007_9_1_1_1_1.jpeg"));
  }
}

// --- CUHK03 ----------------------------------------------------------------------------------

namespace {

/// A tiny image whose pixels say which one it is.
cv::Mat tiny(int pair, int person, int slot, bool detected) {
  cv::Mat image(detected ? 7 : 6, detected ? 3 : 4, CV_8UC3);
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x)
      image.at<cv::Vec3b>(y, x) = {static_cast<std::uint8_t>(pair * 50 + person * 10 + slot),
                                   static_cast<std::uint8_t>(y * 20 + x), static_cast<std::uint8_t>(detected ? 200 : 100)};
  return image;
}

/// CUHK03 with two camera pairs: person (1,2) seen by the first camera only, a gap at slot 2 of
/// person (2,1), three classic splits, and both protocol files.
void write_cuhk03(const fs::path& base) {
  const std::vector<std::vector<std::vector<int>>> slots{
      {{0, 1, 5, 6}, {0, 1, 2}, {0, 5, 6, 7, 8, 9}},  // pair 1: three persons
      {{0, 2, 3, 5}, {1, 5}}};                        // pair 2: two persons
  ds::Cuhk03Release release;
  ds::Cuhk03Protocol protocol;
  release.labeled.resize(slots.size());
  release.detected.resize(slots.size());
  for (std::size_t pair = 0; pair < slots.size(); ++pair)
    for (std::size_t person = 0; person < slots[pair].size(); ++person) {
      release.labeled[pair].emplace_back();
      release.detected[pair].emplace_back();
      for (const int slot : slots[pair][person]) {
        const auto [c, p] = std::pair{static_cast<int>(pair), static_cast<int>(person)};
        release.labeled[pair][person][static_cast<std::size_t>(slot)] = tiny(c, p, slot, false);
        release.detected[pair][person][static_cast<std::size_t>(slot)] = tiny(c, p, slot, true);
        protocol.filelist.push_back(ds::cuhk03_image_name(c, p, slot));
        protocol.labels.push_back(pair == 0 ? static_cast<std::int64_t>(person) + 1 : static_cast<std::int64_t>(person) + 4);
      }
    }
  release.testsets = {{{1, 1}, {2, 2}}, {{1, 3}, {2, 1}}, {{1, 2}}};
  fs::create_directories(base / "cuhk03_release");
  ds::write_cuhk03_mat(base / "cuhk03_release" / "cuhk-03.mat", release);
  // 19 images: persons 1 (4), 2 (3), 3 (6), 4 (4), 5 (2). Train persons 2 and 4, test 1, 3, 5.
  protocol.train_idx = {5, 6, 7, 14, 15, 16, 17};
  protocol.query_idx = {1, 3, 8, 9, 18, 19};
  protocol.gallery_idx = {2, 4, 10, 11, 12, 13};
  ds::write_cuhk03_protocol(base / "cuhk03_new_protocol_config_detected.mat", protocol);
  ds::write_cuhk03_protocol(base / "cuhk03_new_protocol_config_labeled.mat", protocol);
  write_text(base / "cuhk03_release" / "README.md", "the release's readme\n");
}

/// torchreid's CUHK03.preprocess_split for `boxes`, verbatim but for: reading the images that
/// fgreid extracted and checking them against the .mat instead of writing them, training
/// labels left unrelabelled, and pids numbered by first appearance (`canonical`).
json torchreid_cuhk03(const fs::path& base, const std::string& boxes, int classic_index) {
  fgreid::test::TempDir dir;
  return fgreid::test::run_python_reference(fmt::format(R"(
import h5py, json, numpy as np, os.path as osp
from PIL import Image
from scipy.io import loadmat
base, image_type, classic_index = {}, '{}', {}
mat = h5py.File(osp.join(base, 'cuhk03_release', 'cuhk-03.mat'), 'r')
checked = [0]
def _deref(ref):
    return mat[ref][:].T
def _process_images(img_refs, campid, pid, save_dir):
    img_paths = []
    for imgid, img_ref in enumerate(img_refs):
        img = _deref(img_ref)
        if img.size == 0 or img.ndim < 3:
            continue
        viewid = 1 if imgid < 5 else 2
        img_name = '{{:01d}}_{{:03d}}_{{:01d}}_{{:02d}}.png'.format(campid + 1, pid + 1, viewid, imgid + 1)
        img_path = osp.join(save_dir, img_name)
        assert (np.asarray(Image.open(img_path).convert('RGB')) == img).all(), img_path
        checked[0] += 1
        img_paths.append(img_path)
    return img_paths
meta_data = []
imgs_dir = osp.join(base, 'images_' + image_type)
for campid, camp_ref in enumerate(mat[image_type][0]):
    camp = _deref(camp_ref)
    for pid in range(camp.shape[0]):
        img_paths = _process_images(camp[pid, :], campid, pid, imgs_dir)
        assert len(img_paths) > 0
        meta_data.append((campid + 1, pid + 1, img_paths))
def canonical(entries):
    number = {{}}
    return [[path, number.setdefault(pid, len(number)), camid] for path, pid, camid in entries]
out = {{'checked': 0}}
if classic_index >= 0:
    test_split = _deref(mat['testsets'][0][classic_index]).tolist()
    train, test = [], []
    for campid, pid, img_paths in meta_data:
        for img_path in img_paths:
            camid = int(osp.basename(img_path).split('_')[2]) - 1
            (test if [campid, pid] in test_split else train).append((img_path, (campid, pid), camid))
    out.update(train=canonical(train), query=canonical(test), gallery=canonical(test))
else:
    split_dict = loadmat(osp.join(base, 'cuhk03_new_protocol_config_' + image_type + '.mat'))
    pids = split_dict['labels'].flatten()
    filelist = split_dict['filelist'].flatten()
    def _extract_set(idxs):
        tmp_set = []
        for idx in idxs:
            img_name = filelist[idx][0]
            camid = int(img_name.split('_')[2]) - 1
            tmp_set.append((osp.join(imgs_dir, img_name), int(pids[idx]), camid))
        return tmp_set
    out.update(train=_extract_set(split_dict['train_idx'].flatten() - 1),
               query=_extract_set(split_dict['query_idx'].flatten() - 1),
               gallery=_extract_set(split_dict['gallery_idx'].flatten() - 1))
    out['train_canonical'] = canonical(out['train'])
out['checked'] = checked[0]
print(json.dumps(out))
)", json(base.string()).dump(), boxes, classic_index), dir);
}

}  // namespace

TEST_CASE("CUHK03 is extracted from its v7.3 .mat and split as torchreid does, reading it with h5py") {
  fgreid::test::TempDir root;
  const auto base = root / "cuhk03";
  write_cuhk03(base);
  for (const auto boxes : {ds::Cuhk03Boxes::detected, ds::Cuhk03Boxes::labeled}) {
    const std::string name = boxes == ds::Cuhk03Boxes::labeled ? "labeled" : "detected";
    CAPTURE(name);
    const auto splits = ds::CUHK03::load(root.path(), {.cuhk03_boxes = boxes});
    CHECK(fs::is_directory(base / ("images_" + name)));
    const auto reference = torchreid_cuhk03(base, name, -1);
    CHECK(reference["checked"] == 19);  // every image extracted, pixel for pixel
    CHECK(triples(splits.query) == reference["query"]);
    CHECK(triples(splits.gallery) == reference["gallery"]);
    CHECK(canonical(splits.train) == reference["train_canonical"]);
    CHECK(ds::summarize(splits)["train"] == json{{"ids", 2}, {"images", 7}, {"cameras", 2}});
    CHECK(ds::summarize(splits)["query"] == json{{"ids", 3}, {"images", 6}, {"cameras", 2}});
    CHECK(ds::summarize(splits)["gallery"] == json{{"ids", 2}, {"images", 6}, {"cameras", 2}});
    CHECK(splits.info["protocol"] == "new");
    json train_paths = json::array(), reference_paths = json::array();
    for (const auto& entry : triples(splits.train)) train_paths.push_back({entry[0], entry[2]});
    for (const auto& entry : reference["train"]) reference_paths.push_back({entry[0], entry[2]});
    CHECK(train_paths == reference_paths);

    for (int index = 0; index < 3; ++index) {
      CAPTURE(index);
      const auto classic = ds::CUHK03::load(root.path(), {.cuhk03_boxes = boxes, .cuhk03_classic = true,
                                                          .split_index = index});
      const auto expected = torchreid_cuhk03(base, name, index);
      CHECK(canonical(classic.train) == expected["train"]);
      CHECK(canonical(classic.query) == expected["query"]);
      CHECK(canonical(classic.gallery) == expected["gallery"]);
      CHECK(classic.info["split_index"] == index);
    }
  }
  SUBCASE("the extraction is done once, and the seed's place for the protocol files works") {
    const auto image = base / "images_detected" / "1_001_1_01.png";
    const auto written = fs::last_write_time(image);
    fs::rename(base / "cuhk03_new_protocol_config_detected.mat",
               base / "cuhk03_release" / "cuhk03_new_protocol_config_detected.mat");
    CHECK(ds::CUHK03::load(base, {}).query.size() == 6);
    CHECK(fs::last_write_time(image) == written);
  }
}

TEST_CASE("a malformed CUHK03 release is reported with the file and the variable") {
  fgreid::test::TempDir root;
  write_cuhk03(root.path());
  const auto mat = root / "cuhk03_release" / "cuhk-03.mat";
  const auto load = [&](ds::CUHK03::Options options = {}) { (void)ds::CUHK03::load(root.path(), options); };
  SUBCASE("no cuhk-03.mat") {
    fs::remove(mat);
    CHECK(mentions(error_of([&] { load(); }), mat));
  }
  SUBCASE("a cuhk-03.mat that is not HDF5 (e.g. saved as v5)") {
    ds::write_grid_partitions(mat, {{1}});
    CHECK(mentions(error_of([&] { load(); }), mat));
  }
  SUBCASE("a v7.3 file with nothing in the variable") {
    ds::write_cuhk03_mat(mat, {});
    const auto message = error_of([&] { load(); });
    CHECK(mentions(message, mat));
    CHECK(message.find("'detected' holds no camera pairs") != std::string::npos);
  }
  SUBCASE("a v7.3 file without the variable") {
    fgreid::test::TempDir dir;
    (void)fgreid::test::run_python_reference(fmt::format(R"(
import h5py, numpy as np
with h5py.File({}, 'w') as f:
    f['labeled'] = np.zeros((1, 5))
print('{{}}')
)", json(mat.string()).dump()), dir);
    const auto message = error_of([&] { load(); });
    CHECK(mentions(message, mat));
    CHECK(message.find("no variable 'detected'") != std::string::npos);
    CHECK(error_of([&] { load({.cuhk03_boxes = ds::Cuhk03Boxes::labeled}); }).find("'labeled' is not a cell array") !=
          std::string::npos);
  }
  SUBCASE("no protocol file") {
    fs::remove(root / "cuhk03_new_protocol_config_labeled.mat");
    CHECK(mentions(error_of([&] { load({.cuhk03_boxes = ds::Cuhk03Boxes::labeled}); }),
                   root / "cuhk03_new_protocol_config_labeled.mat"));
  }
  SUBCASE("a protocol file naming an image the release lacks") {
    ds::write_cuhk03_protocol(root / "cuhk03_new_protocol_config_detected.mat",
                              {.filelist = {"1_001_1_01.png", "2_002_1_05.png"}, .labels = {1, 5},
                               .train_idx = {1}, .query_idx = {2}, .gallery_idx = {2}});
    const auto message = error_of([&] { load(); });
    CHECK(mentions(message, root / "cuhk03_new_protocol_config_detected.mat"));
    CHECK(mentions(message, root / "images_detected" / "2_002_1_05.png"));
  }
  SUBCASE("a classic split that is not there, or a second new-protocol split") {
    CHECK(error_of<fgreid::UsageError>([&] { load({.cuhk03_classic = true, .split_index = 3}); })
              .find("--split-index 3") == 0);
    CHECK(error_of<fgreid::UsageError>([&] { load({.split_index = 1}); }).find("--split-index 1") == 0);
  }
}

// --- the synthetic stand-ins -----------------------------------------------------------------

TEST_CASE("the synthetic CUHK01, VehicleID, GRID and CUHK03 are read by their own loaders") {
  fgreid::test::TempDir root;
  ds::CUHK01::synthesize(root / "cuhk01", {});
  const auto cuhk01 = ds::summarize(ds::CUHK01::load(root / "cuhk01", {}));
  CHECK(cuhk01["train"] == json{{"ids", 100}, {"images", 400}, {"cameras", 2}});
  CHECK(cuhk01["query"] == json{{"ids", 100}, {"images", 200}, {"cameras", 1}});

  ds::VehicleID::synthesize(root / "vehicleid", {});
  const auto vehicleid = ds::VehicleID::load(root / "vehicleid", {});
  CHECK(vehicleid.num_train_ids() == 120);
  CHECK(id_set(vehicleid.gallery).size() == 40);
  CHECK(vehicleid.gallery.size() == 40);
  CHECK(ds::VehicleID::load(root / "vehicleid", {.test_size = 2400}).gallery.size() == 120);

  ds::GRID::synthesize(root / "grid", {});
  for (int split = 0; split < 10; ++split) {
    const auto grid = ds::summarize(ds::GRID::load(root / "grid", {.split_index = split}));
    CHECK(grid["train"]["ids"] == 50);
    CHECK(grid["train"]["images"] == 100);
    CHECK(grid["query"]["ids"] == 50);
    CHECK(grid["gallery"]["ids"] == 51);
  }

  ds::CUHK03::synthesize(root / "cuhk03", {});
  const auto cuhk03 = ds::CUHK03::load(root / "cuhk03", {});
  CHECK(cuhk03.num_train_ids() == 32);
  CHECK(id_set(cuhk03.query).size() == 28);
  CHECK(id_set(cuhk03.gallery).size() == 28);
  const auto classic = ds::CUHK03::load(root / "cuhk03", {.cuhk03_boxes = ds::Cuhk03Boxes::labeled,
                                                          .cuhk03_classic = true, .split_index = 19});
  CHECK(classic.num_train_ids() == 54);
  CHECK(id_set(classic.query).size() == 6);
}
