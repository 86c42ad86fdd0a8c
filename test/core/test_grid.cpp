// GRID on small trees written here in the release's exact layout, checked against torchreid's
// own Python code run on the same tree, its malformed variants, the validation split, and the
// synthetic stand-in.
#include <fgreid/datasets/cuhk03.hpp>
#include <fgreid/datasets/grid.hpp>
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

}  // namespace

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
    const auto held = ds::GRID::load(root.path(), {.split_index = 2, .held_out = {.validation = 0.5}});
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

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic GRID is read by its own loader, for each of its ten splits") {
  fgreid::test::TempDir root;
  ds::GRID::synthesize(root / "grid", {});
  for (int split = 0; split < 10; ++split) {
    const auto grid = ds::summarize(ds::GRID::load(root / "grid", {.split_index = split}));
    CHECK(grid["train"]["ids"] == 50);
    CHECK(grid["train"]["images"] == 100);
    CHECK(grid["query"]["ids"] == 50);
    CHECK(grid["gallery"]["ids"] == 51);
  }
}
