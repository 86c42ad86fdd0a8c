// CUHK01, VehicleID, GRID and CUHK03 on small trees written here in each release's exact
// layout, checked against the seed's (or torchreid's) own Python code run on the same tree,
// their malformed variants, the validation split, and the synthetic stand-ins.
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/datasets/legacy_random.hpp>
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "reference.hpp"
#include "support.hpp"

#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

void write_image(const fs::path& path) {
  fs::create_directories(path.parent_path());
  REQUIRE(cv::imwrite(path.string(), cv::Mat(8, 4, CV_8UC3, cv::Scalar(40, 90, 160))));
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

template <class Error = fgreid::DataError, class Action>
std::string error_of(Action action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  FAIL("no error of the expected kind was thrown");
  return {};
}

bool mentions(const std::string& message, const fs::path& path) {
  return message.find(path.string()) != std::string::npos;
}

std::vector<std::int64_t> pids_of(const std::vector<ds::Entry>& entries) {
  std::vector<std::int64_t> pids;
  for (const auto& entry : entries) pids.push_back(entry.pid);
  return pids;
}

std::set<std::int64_t> id_set(const std::vector<ds::Entry>& entries) {
  const auto pids = pids_of(entries);
  return {pids.begin(), pids.end()};
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
