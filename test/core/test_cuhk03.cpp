// CUHK03 on small trees written here in the release's exact layout (its v7.3 .mat and the new
// protocol's files), checked against torchreid's own Python code run on the same tree, its
// malformed variants, and the synthetic stand-in.
#include <fgreid/datasets/cuhk03.hpp>
#include <fgreid/datasets/grid.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "reference.hpp"
#include "dataset_support.hpp"

#include <map>
#include <string>
#include <utility>
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

}  // namespace

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

// --- the synthetic stand-in ------------------------------------------------------------------

TEST_CASE("the synthetic CUHK03 is read by its own loader, new protocol and classic splits") {
  fgreid::test::TempDir root;
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

TEST_CASE("CUHK03 frames are the image slot, as the seed's generate_seq_cuhk03.py reads the name") {
  fgreid::test::TempDir root;
  ds::CUHK03::synthesize(root / "cuhk03", {});
  for (const bool classic : {false, true}) {
    const auto splits = ds::CUHK03::load(root / "cuhk03", {.cuhk03_classic = classic});
    for (const auto* subset : {&splits.train, &splits.query, &splits.gallery})
      for (const auto& entry : *subset) {
        // C_PPP_V_II.png: the seed's int(name.split("_")[-1].split(".")[0]) is II
        const auto name = entry.images.front().stem().string();
        CHECK(entry.frame == std::stoll(name.substr(name.rfind('_') + 1)));
        CHECK(entry.frame >= 1);
        CHECK(entry.frame <= 10);
      }
  }
}
