// DukeMTMC-reID, MSMT17, VeRi-776 and VRIC on small trees written here in each release's exact
// layout, their malformed variants, the validation split, and the synthetic stand-ins.
#include <fgreid/datasets/dukemtmcreid.hpp>
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/datasets/veri776.hpp>
#include <fgreid/datasets/vric.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "dataset_support.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

/// Files that no loader may read: not .jpg, or not a file.
void write_strays(const fs::path& folder) {
  write_text(folder / "readme.txt", "not an image\n");
  write_text(folder / "Thumbs.db", "x");
  REQUIRE(cv::imwrite((folder / "0001_c1_f0000001.png").string(), cv::Mat(8, 4, CV_8UC3)));
  fs::create_directories(folder / "0002_c1_f0000002.jpg");
}

// --- DukeMTMC-reID -------------------------------------------------------------------------

void write_duke(const fs::path& base) {
  for (const auto* name : {"0005_c2_f0046182.jpg", "0005_c2_f0046190.jpg", "0005_c5_f0051000.jpg",
                           "0001_c1_f0000100.jpg", "0001_c8_f0200000.jpg", "0370_c3_f0100000.jpg"})
    write_image(base / "bounding_box_train" / name);
  for (const auto* name : {"0002_c1_f0001000.jpg", "0002_c7_f0003000.jpg", "0011_c4_f0004000.jpg"})
    write_image(base / "query" / name);
  for (const auto* name : {"0002_c2_f0001500.jpg", "0011_c6_f0005000.jpg", "0011_c6_f0005010.jpg",
                           "5388_c3_f0006000.jpg", "7140_c8_f0007000.jpg"})  // two distractors
    write_image(base / "bounding_box_test" / name);
  for (const auto* folder : {"bounding_box_train", "query", "bounding_box_test"})
    write_strays(base / folder);
}

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

// --- MSMT17 --------------------------------------------------------------------------------

namespace {

/// An MSMT17 release of version `folder` with image folders `train` and `test`.
void write_msmt17(const fs::path& root, const std::string& folder, const std::string& train,
                  const std::string& test) {
  const auto base = root / folder;
  const std::map<std::string, std::vector<std::pair<std::string, int>>> lists{
      {"list_train.txt",
       {{"0000/0000_000_01_0303morning_0015_0.jpg", 0},
        {"0000/0000_001_05_0303morning_0030_0.jpg", 0},
        {"0001/0001_000_15_0303noon_0100_1.jpg", 1},
        {"0002/0002_000_07_0303afternoon_0200_0.jpg", 2}}},
      {"list_val.txt",
       {{"0000/0000_002_03_0303morning_0045_0.jpg", 0}, {"0003/0003_000_12_0303noon_0001_0.jpg", 3}}},
      {"list_query.txt",
       {{"0000/0000_000_02_0113morning_0001_0.jpg", 0}, {"0004/0004_000_09_0113noon_0001_0.jpg", 4}}},
      {"list_gallery.txt",
       {{"0000/0000_001_04_0113morning_0002_0.jpg", 0},
        {"0004/0004_001_10_0113noon_0002_0.jpg", 4},
        {"0004/0004_002_11_0113noon_0003_0.jpg", 4}}}};
  for (const auto& [list, lines] : lists) {
    const auto images = base / ((list == "list_train.txt" || list == "list_val.txt") ? train : test);
    std::string text;
    for (const auto& [relative, pid] : lines) {
      write_image(images / relative);
      text += relative + " " + std::to_string(pid) + "\n";
    }
    write_text(base / list, text + "\n");  // a trailing blank line, as editors leave
  }
  write_image(base / train / "0009" / "0009_000_01_0303morning_0001_0.jpg");  // in no list
}

}  // namespace

TEST_CASE("the MSMT17 camera is the third '_' field of the file name") {
  CHECK(ds::msmt17_camera("0000_000_01_0303morning_0015_0.jpg") == 1);
  CHECK(ds::msmt17_camera("0133_012_15_0113noon_0915_2.jpg") == 15);
  CHECK_FALSE(ds::msmt17_camera("0000_000.jpg"));
  CHECK_FALSE(ds::msmt17_camera("0000_000_xx_0303morning_0015_0.jpg"));
}

TEST_CASE("an MSMT17 release is read from its lists, V1 or V2, val merged on request") {
  for (const auto& [folder, train, test] :
       {std::tuple{"MSMT17_V1", "train", "test"}, std::tuple{"MSMT17_V2", "mask_train_v2", "mask_test_v2"}}) {
    CAPTURE(folder);
    fgreid::test::TempDir root;
    write_msmt17(root.path(), folder, train, test);
    const auto splits = ds::MSMT17::load(root.path(), {});
    CHECK(ds::summarize(splits)["train"] == json{{"ids", 3}, {"images", 4}, {"cameras", 4}});
    CHECK(ds::summarize(splits)["query"] == json{{"ids", 2}, {"images", 2}, {"cameras", 2}});
    CHECK(ds::summarize(splits)["gallery"] == json{{"ids", 2}, {"images", 3}, {"cameras", 3}});
    CHECK(splits.info["version"] == folder);
    CHECK(splits.info["val_images"] == 2);
    CHECK(splits.train.at(2).camid == 14);
    CHECK(splits.train.at(2).images.front() == root.path() / folder / train / "0001" / "0001_000_15_0303noon_0100_1.jpg");
    CHECK(splits.gallery.at(2).images.front() == root.path() / folder / test / "0004" / "0004_002_11_0113noon_0003_0.jpg");

    const auto merged = ds::MSMT17::load(root.path(), {.msmt17_merge_val = true});
    CHECK(ds::summarize(merged)["train"] == json{{"ids", 4}, {"images", 6}, {"cameras", 6}});
    CHECK(pids_of(merged.train) == std::vector<std::int64_t>{0, 0, 1, 2, 0, 3});
    CHECK(merged.info["val_merged"] == true);
  }
  SUBCASE("--data-root may be the version folder itself") {
    fgreid::test::TempDir root;
    write_msmt17(root.path(), "MSMT17_V2", "mask_train_v2", "mask_test_v2");
    CHECK(ds::MSMT17::load(root / "MSMT17_V2", {}).train.size() == 4);
  }
}

TEST_CASE("a malformed MSMT17 tree is reported with the list and the image") {
  fgreid::test::TempDir root;
  write_msmt17(root.path(), "MSMT17_V2", "mask_train_v2", "mask_test_v2");
  const auto base = root / "MSMT17_V2";
  const auto load = [&] { (void)ds::MSMT17::load(root.path(), {}); };
  SUBCASE("no version folder") {
    fgreid::test::TempDir empty;
    CHECK(mentions(error_of([&] { (void)ds::MSMT17::load(empty.path(), {}); }), empty / "MSMT17_V2"));
  }
  SUBCASE("missing image folder") {
    fs::remove_all(base / "mask_test_v2");
    CHECK(mentions(error_of(load), base / "mask_test_v2"));
  }
  SUBCASE("missing list") {
    fs::remove(base / "list_val.txt");
    CHECK(mentions(error_of(load), base / "list_val.txt"));
  }
  SUBCASE("a listed image that is not there") {
    fs::remove(base / "mask_test_v2" / "0004" / "0004_001_10_0113noon_0002_0.jpg");
    const auto message = error_of(load);
    CHECK(mentions(message, base / "list_gallery.txt"));
    CHECK(mentions(message, base / "mask_test_v2" / "0004" / "0004_001_10_0113noon_0002_0.jpg"));
  }
  SUBCASE("a line without a pid, or with a bad one") {
    for (const auto* line : {"0000/0000_000_02_0113morning_0001_0.jpg\n",
                             "0000/0000_000_02_0113morning_0001_0.jpg x\n"}) {
      write_text(base / "list_query.txt", line);
      const auto message = error_of(load);
      CHECK(mentions(message, base / "list_query.txt"));
      CHECK(message.find(":1:") != std::string::npos);
    }
  }
  SUBCASE("a name without a camera field") {
    write_image(base / "mask_test_v2" / "0004" / "0004.jpg");
    write_text(base / "list_query.txt", "0004/0004.jpg 4\n");
    const auto message = error_of(load);
    CHECK(mentions(message, base / "list_query.txt"));
    CHECK(message.find("0004/0004.jpg") != std::string::npos);
  }
}

// --- VeRi-776 ------------------------------------------------------------------------------

namespace {

void write_veri(const fs::path& base) {
  for (const auto* name : {"0001_c001_00016450_0.jpg", "0001_c001_00016455_1.jpg",
                           "0001_c014_00087500_0.jpg", "0776_c020_00000010_0.jpg"})
    write_image(base / "image_train" / name);
  for (const auto* name : {"0002_c002_00030600_1.jpg", "0005_c019_00084125_0.jpg"})
    write_image(base / "image_query" / name);
  for (const auto* name : {"0002_c002_00030605_0.jpg", "0002_c003_00031000_0.jpg",
                           "0005_c001_00090000_0.jpg", "0006_c004_00000001_0.jpg"})
    write_image(base / "image_test" / name);
  write_text(base / "name_train.txt", "0001_c001_00016450_0.jpg\n");  // the release's extras
  write_text(base / "gt_index.txt", "1 2\n");
  write_strays(base / "image_test");
}

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

// --- VRIC ----------------------------------------------------------------------------------

namespace {

void write_vric(const fs::path& base) {
  const std::map<std::string, std::pair<std::string, std::vector<std::string>>> subsets{
      {"train", {"vric_train.txt", {"a1.jpg 17 1", "a2.jpg 17 3", "b1.jpg 4 60", "c1.jpg 900 2"}}},
      {"probe", {"vric_probe.txt", {"p1.jpg 5 7", "p2.jpg 6 8"}}},
      {"gallery", {"vric_gallery.txt", {"g1.jpg 5 9", "g2.jpg 6 8"}}}};
  for (const auto& [subset, list] : subsets) {
    std::string text;
    for (const auto& line : list.second) {
      write_image(base / (subset + "_images") / line.substr(0, line.find(' ')));
      text += line + "\r\n";  // Windows line ends: fields are split at any white space
    }
    write_text(base / list.first, text);
  }
  write_image(base / "train_images" / "unlisted.jpg");
}

}  // namespace

TEST_CASE("a VRIC release is read from its three lists") {
  fgreid::test::TempDir root;
  write_vric(root / "VRIC");
  const auto splits = ds::VRIC::load(root.path(), {});
  CHECK(ds::summarize(splits) == json{{"train", {{"ids", 3}, {"images", 4}, {"cameras", 4}}},
                                      {"query", {{"ids", 2}, {"images", 2}, {"cameras", 2}}},
                                      {"gallery", {{"ids", 2}, {"images", 2}, {"cameras", 2}}}});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{1, 1, 0, 2});  // 17, 17, 4, 900
  CHECK(splits.train.at(2).camid == 59);
  CHECK(splits.query.at(0).images.front() == root.path() / "VRIC" / "probe_images" / "p1.jpg");
  CHECK(splits.gallery.at(0).camid == 8);
}

TEST_CASE("a malformed VRIC tree is reported with the list and the image") {
  fgreid::test::TempDir root;
  write_vric(root.path());
  const auto load = [&] { (void)ds::VRIC::load(root.path(), {}); };
  SUBCASE("missing folder") {
    fs::remove_all(root / "gallery_images");
    CHECK(mentions(error_of(load), root / "gallery_images"));
  }
  SUBCASE("missing list") {
    fs::remove(root / "vric_probe.txt");
    CHECK(mentions(error_of(load), root / "vric_probe.txt"));
  }
  SUBCASE("a listed image that is not there") {
    fs::remove(root / "probe_images" / "p2.jpg");
    const auto message = error_of(load);
    CHECK(mentions(message, root / "vric_probe.txt"));
    CHECK(mentions(message, root / "probe_images" / "p2.jpg"));
  }
  SUBCASE("a line without its camera, or camera 0") {
    for (const auto* text : {"g1.jpg 5\n", "g1.jpg 5 0\n"}) {
      write_text(root / "vric_gallery.txt", text);
      CHECK(mentions(error_of(load), root / "vric_gallery.txt"));
    }
  }
}

// --- the validation split ------------------------------------------------------------------

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
  const auto msmt = ds::MSMT17::load(root / "msmt", {.msmt17_merge_val = true, .validation = 0.5, .validation_seed = 1});
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

// --- the synthetic stand-ins ---------------------------------------------------------------

namespace {

/// Every query identity has a gallery image on another camera; train ids are 0..N-1.
void check_learnable_layout(const ds::Splits& splits) {
  std::map<std::int64_t, std::set<std::int64_t>> gallery_cameras;
  for (const auto& entry : splits.gallery) gallery_cameras[entry.pid].insert(entry.camid);
  for (const auto& entry : splits.query) {
    const auto& cameras = gallery_cameras[entry.pid];
    CHECK((cameras.size() > 1 || (cameras.size() == 1 && !cameras.contains(entry.camid))));
  }
  CHECK(*id_set(splits.train).rbegin() == splits.num_train_ids() - 1);
  for (const auto& entry : splits.train) CHECK(fs::is_regular_file(entry.images.front()));
}

}  // namespace

TEST_CASE("each synthetic stand-in is written in its release's layout and reads back") {
  fgreid::test::TempDir root;
  SUBCASE("DukeMTMC-reID") {
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
  SUBCASE("MSMT17") {
    ds::MSMT17::synthesize(root.path(), {});
    const auto splits = ds::MSMT17::load(root.path(), {});
    CHECK(splits.info["version"] == "MSMT17_V2");
    CHECK(splits.num_train_ids() == 80);
    CHECK(id_set(splits.query).size() == 80);
    CHECK(ds::summarize(splits)["train"]["cameras"] == 15);
    CHECK(splits.info["val_images"].get<int>() > 40);
    const auto merged = ds::MSMT17::load(root.path(), {.msmt17_merge_val = true});
    CHECK(merged.train.size() == splits.train.size() + splits.info["val_images"].get<std::size_t>());
    check_learnable_layout(splits);
  }
  SUBCASE("VeRi-776") {
    ds::VeRi776::synthesize(root.path(), {});
    const auto splits = ds::VeRi776::load(root.path(), {});
    CHECK(splits.num_train_ids() == 80);
    CHECK(id_set(splits.query).size() == 60);
    CHECK(ds::summarize(splits)["train"]["cameras"] == 20);
    for (const auto& entry : splits.gallery) CHECK(entry.frame >= 0);
    check_learnable_layout(splits);
  }
  SUBCASE("VRIC") {
    ds::VRIC::synthesize(root.path(), {});
    const auto splits = ds::VRIC::load(root.path(), {});
    CHECK(splits.num_train_ids() == 80);
    CHECK(splits.query.size() == 80);
    CHECK(splits.gallery.size() == 80);  // one probe and one gallery image per test vehicle
    check_learnable_layout(splits);
  }
}
