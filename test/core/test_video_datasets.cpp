// MARS, iLIDS-VID, PRID-2011 and DukeMTMC-VideoReID on small trees written here in each
// release's exact layout (with its .mat files), their malformed variants, the splits, the
// validation split, the synthetic stand-ins; and the clip sampling of the video sampler.
#include <fgreid/datasets/dukemtmc_video.hpp>
#include <fgreid/datasets/ilidsvid.hpp>
#include <fgreid/datasets/mars.hpp>
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/datasets/prid2011.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>
#include <fgreid/samplers/video_pk.hpp>

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
namespace sm = fgreid::samplers;
using nlohmann::json;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

std::vector<std::int64_t> cams_of(const std::vector<ds::Entry>& entries) {
  std::vector<std::int64_t> cams;
  for (const auto& entry : entries) cams.push_back(entry.camid);
  return cams;
}

std::vector<std::size_t> lengths_of(const std::vector<ds::Entry>& entries) {
  std::vector<std::size_t> lengths;
  for (const auto& entry : entries) lengths.push_back(entry.images.size());
  return lengths;
}

json subset(int ids, int tracklets, int cameras, int total, int min, double mean, int max) {
  return {{"ids", ids}, {"tracklets", tracklets}, {"cameras", cameras},
          {"frames", {{"total", total}, {"min", min}, {"mean", mean}, {"max", max}}}};
}

// --- MARS ----------------------------------------------------------------------------------

void write_ilids(const fs::path& base);

struct MarsTrack {
  std::string person;  // as in the names: 0001, 0000, 00-1
  int camera, tracklet, frames;
  double pid;  // as in the .mat
};

/// Writes the frames and names of `tracks` under `folder`; returns the .mat rows.
std::vector<double> write_mars_tracks(const fs::path& base, const std::string& folder,
                                      const std::string& names_file,
                                      const std::vector<MarsTrack>& tracks) {
  std::string names;
  std::vector<double> rows;
  int count = 0;
  for (const auto& t : tracks) {
    for (int f = 1; f <= t.frames; ++f) {
      const auto name = fmt::format("{}C{}T{:04d}F{:03d}.jpg", t.person, t.camera, t.tracklet, f);
      write_image(base / folder / t.person / name);
      names += name + "\n";
    }
    rows.insert(rows.end(), {double(count + 1), double(count + t.frames), t.pid, double(t.camera)});
    count += t.frames;
  }
  write_text(base / "info" / names_file, names + "\n");  // a trailing blank line
  return rows;
}

void write_mars(const fs::path& base, std::vector<double> query_idx = {6, 1}) {
  const auto train = write_mars_tracks(base, "bbox_train", "train_name.txt",
                                       {{"0001", 1, 1, 3, 1}, {"0001", 2, 1, 2, 1},
                                        {"0003", 4, 2, 4, 3}, {"00-1", 3, 1, 1, -1}});
  const auto test = write_mars_tracks(base, "bbox_test", "test_name.txt",
                                      {{"0002", 1, 1, 3, 2}, {"0002", 3, 1, 2, 2}, {"0002", 3, 2, 1, 2},
                                       {"0000", 5, 1, 2, 0}, {"00-1", 6, 1, 1, -1},
                                       {"0004", 2, 1, 5, 4}, {"0004", 6, 1, 2, 4}});
  ds::write_mat_matrices(base / "info" / "tracks_train_info.mat",
                         {{"track_train_info", ds::MatMatrix::from_rows(4, 4, train)}});
  ds::write_mat_matrices(base / "info" / "tracks_test_info.mat",
                         {{"track_test_info", ds::MatMatrix::from_rows(7, 4, test)}});
  ds::write_mat_matrices(base / "info" / "query_IDX.mat",
                         {{"query_IDX", ds::MatMatrix::from_rows(1, query_idx.size(), query_idx)}});
}

const json mars_summary = {{"train", subset(2, 3, 3, 9, 2, 3.0, 4)},
                           {"query", subset(2, 2, 2, 8, 3, 4.0, 5)},
                           {"gallery", subset(3, 4, 3, 7, 1, 1.75, 2)},
                           {"split", {{"junk_tracklets_dropped", 2}}}};

}  // namespace

TEST_CASE("a MATLAB matrix written through matio is read back, and a wrong one is named") {
  fgreid::test::TempDir dir;
  const auto file = dir / "m.mat";
  const auto matrix = ds::MatMatrix::from_rows(2, 3, {1, 2, 3, 4, 5, 6});
  CHECK(matrix.at(1, 0) == 4);
  ds::write_mat_matrices(file, {{"a", matrix}, {"b", ds::MatMatrix::from_rows(1, 1, {7.5})}});
  const auto back = ds::read_mat_matrix(file, "a");
  CHECK(back.rows == 2);
  CHECK(back.cols == 3);
  CHECK(back.values == std::vector<double>{1, 4, 2, 5, 3, 6});  // column-major
  CHECK(ds::mat_integer(file, "a", back, 1, 2) == 6);
  const auto b = ds::read_mat_matrix(file, "b");
  auto message = error_of([&] { (void)ds::mat_integer(file, "b", b, 0, 0); });
  CHECK(mentions(message, "b(1, 1) = 7.5"));
  message = error_of([&] { (void)ds::read_mat_matrix(file, "ls_set"); });
  CHECK(mentions(message, file.string()));
  CHECK(mentions(message, "'ls_set'"));
  write_text(dir / "text.mat", "not a MATLAB file");
  CHECK(mentions(error_of([&] { (void)ds::read_mat_matrix(dir / "text.mat", "a"); }), (dir / "text.mat").string()));
}

TEST_CASE("the MARS and iLIDS-VID .mat files written here read in scipy as torchreid reads them") {
  fgreid::test::TempDir dir;
  write_mars(dir.path());
  write_ilids(dir / "ilids");
  const auto reference = fgreid::test::run_python_reference(R"(
import json, os, sys
from scipy.io import loadmat
root = sys.argv[1]
info = os.path.join(root, "info")
train = loadmat(os.path.join(info, "tracks_train_info.mat"))["track_train_info"]
test = loadmat(os.path.join(info, "tracks_test_info.mat"))["track_test_info"]
query = loadmat(os.path.join(info, "query_IDX.mat"))["query_IDX"].squeeze()
ls_set = loadmat(os.path.join(root, "ilids", "train-test people splits", "train_test_splits_ilidsvid.mat"))["ls_set"]
print(json.dumps({"train": train.tolist(), "test_shape": list(test.shape), "query": query.tolist(),
                  "ls_set": ls_set.tolist()}))
)", dir);
  CHECK(reference["train"] == json{{1, 3, 1, 1}, {4, 5, 1, 2}, {6, 9, 3, 4}, {10, 10, -1, 3}});
  CHECK(reference["test_shape"] == json{7, 4});
  CHECK(reference["query"] == json{6, 1});
  CHECK(reference["ls_set"] == json{{3, 1, 2, 4}, {2, 4, 1, 3}});
}

TEST_CASE("MARS is read from its .mat files: junk dropped, distractors kept, query_IDX order") {
  fgreid::test::TempDir root;
  write_mars(root / "MARS");
  const auto splits = ds::MARS::load(root.path(), {});
  CHECK(ds::summarize_video(splits) == mars_summary);
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 1});  // 1, 1, 3
  CHECK(cams_of(splits.train) == std::vector<std::int64_t>{0, 1, 3});
  CHECK(pids_of(splits.query) == std::vector<std::int64_t>{4, 2});  // query_IDX = [6, 1]
  CHECK(pids_of(splits.gallery) == std::vector<std::int64_t>{2, 2, 0, 4});
  CHECK(cams_of(splits.gallery) == std::vector<std::int64_t>{2, 2, 4, 5});
  CHECK(splits.train[2].images.back() == root / "MARS" / "bbox_train" / "0003" / "0003C4T0002F004.jpg");
  CHECK(splits.query[0].images.front() == root / "MARS" / "bbox_test" / "0004" / "0004C2T0001F001.jpg");

  SUBCASE("unpacked without its top folder, with query_IDX as a column: the same") {
    fgreid::test::TempDir flat;
    write_mars(flat.path());
    ds::write_mat_matrices(flat / "info" / "query_IDX.mat",
                           {{"query_IDX", ds::MatMatrix::from_rows(2, 1, {6, 1})}});
    CHECK(ds::summarize_video(ds::MARS::load(flat.path(), {})) == mars_summary);
  }
  SUBCASE("--validation holds out training identities") {
    const auto held = ds::MARS::load(root.path(), {.validation = 0.5, .validation_seed = 3});
    CHECK(held.query.size() + held.train.size() == 3);
    CHECK(held.gallery.size() == 3);
    CHECK(held.info["validation"]["held_out_ids"] == 1);
    CHECK(held.info["junk_tracklets_dropped"] == 2);
  }
}

TEST_CASE("a malformed MARS tree is reported with the file, .mat variable or tracklet at fault") {
  fgreid::test::TempDir root;
  write_mars(root.path());
  const auto info = root / "info";
  const auto load = [&] { (void)ds::MARS::load(root.path(), {}); };
  SUBCASE("a missing .mat file") {
    fs::remove(info / "query_IDX.mat");
    CHECK(mentions(error_of(load), (info / "query_IDX.mat").string()));
  }
  SUBCASE("the .mat variable under another name") {
    ds::write_mat_matrices(info / "tracks_test_info.mat",
                           {{"track_info", ds::MatMatrix::from_rows(1, 4, {1, 3, 2, 1})}});
    const auto message = error_of(load);
    CHECK(mentions(message, (info / "tracks_test_info.mat").string()));
    CHECK(mentions(message, "'track_test_info'"));
  }
  SUBCASE("a track table with three columns") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 3, {1, 3, 1})}});
    CHECK(mentions(error_of(load), "'track_train_info' is 1×3"));
  }
  SUBCASE("a tracklet over two persons") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 4, {4, 6, 1, 2})}});
    const auto message = error_of(load);
    CHECK(mentions(message, "track_train_info row 1"));
    CHECK(mentions(message, "two persons"));
  }
  SUBCASE("a tracklet over two cameras") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(2, 4, {1, 3, 1, 1, 2, 5, 1, 1})}});
    const auto message = error_of(load);
    CHECK(mentions(message, "track_train_info row 2"));
    CHECK(mentions(message, "two cameras"));
  }
  SUBCASE("a camera beyond 6, frames beyond the list, a query row beyond the table") {
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 4, {1, 3, 1, 7})}});
    CHECK(mentions(error_of(load), "camera 7 out of range"));
    ds::write_mat_matrices(info / "tracks_train_info.mat",
                           {{"track_train_info", ds::MatMatrix::from_rows(1, 4, {9, 11, 3, 4})}});
    CHECK(mentions(error_of(load), "outside the 10 names"));
    write_mars(root.path(), {8});
    CHECK(mentions(error_of(load), "query_IDX(1) = 8 is not a row of track_test_info"));
  }
  SUBCASE("a listed frame that is not there") {
    fs::remove(root / "bbox_test" / "0004" / "0004C6T0001F002.jpg");
    CHECK(mentions(error_of(load), (root / "bbox_test" / "0004" / "0004C6T0001F002.jpg").string()));
  }
}

// --- iLIDS-VID -----------------------------------------------------------------------------

namespace {

const std::vector<std::pair<std::string, std::array<int, 2>>> ilids_persons{
    {"person001", {3, 5}}, {"person004", {2, 4}}, {"person010", {6, 1}}, {"person011", {4, 4}}};

void write_ilids(const fs::path& base) {
  for (const auto& [person, frames] : ilids_persons)
    for (int camera = 0; camera < 2; ++camera)
      for (int f = 0; f < frames[static_cast<std::size_t>(camera)]; ++f)
        write_image(base / "i-LIDS-VID" / "sequences" / fmt::format("cam{}", camera + 1) / person /
                    fmt::format("cam{}_{}_{:05d}.png", camera + 1, person, 317 + f * 3));
  write_text(base / "i-LIDS-VID" / "sequences" / "cam1" / "Thumbs.db", "x");  // not a person
  // split 0 tests persons 3 and 1 (person010, person001), split 1 persons 2 and 4
  ds::write_mat_matrices(base / "train-test people splits" / "train_test_splits_ilidsvid.mat",
                         {{"ls_set", ds::MatMatrix::from_rows(2, 4, {3, 1, 2, 4, 2, 4, 1, 3})}});
}

}  // namespace

TEST_CASE("iLIDS-VID is read with the split of --split-index: query camera 1, gallery camera 2") {
  fgreid::test::TempDir root;
  write_ilids(root / "iLIDS-VID");
  const auto split0 = ds::ILIDSVID::load(root.path(), {});
  CHECK(ds::summarize_video(split0) ==
        json{{"train", subset(2, 4, 2, 14, 2, 3.5, 4)},
             {"query", subset(2, 2, 1, 9, 3, 4.5, 6)},
             {"gallery", subset(2, 2, 1, 6, 1, 3.0, 5)},
             {"split", {{"split_index", 0}, {"splits", 2},
                        {"split_file", (root / "iLIDS-VID" / "train-test people splits" /
                                        "train_test_splits_ilidsvid.mat").string()},
                        {"train_persons", 2}, {"test_persons", 2}}}});
  CHECK(pids_of(split0.query) == std::vector<std::int64_t>{1, 10});
  CHECK(cams_of(split0.query) == std::vector<std::int64_t>{0, 0});
  CHECK(pids_of(split0.gallery) == std::vector<std::int64_t>{1, 10});
  CHECK(cams_of(split0.gallery) == std::vector<std::int64_t>{1, 1});
  CHECK(pids_of(split0.train) == std::vector<std::int64_t>{0, 0, 1, 1});
  // frames in temporal (name) order
  CHECK(split0.query[0].images[1].filename() == "cam1_person001_00320.png");

  const auto split1 = ds::ILIDSVID::load(root.path(), {.split_index = 1});
  CHECK(pids_of(split1.query) == std::vector<std::int64_t>{4, 11});
  CHECK(lengths_of(split1.gallery) == std::vector<std::size_t>{4, 4});
  CHECK(ds::summarize_video(ds::ILIDSVID::load(root.path(), {.split_index = 1})) ==
        ds::summarize_video(split1));  // reproducible
  const auto message = error_of<fgreid::UsageError>([&] { (void)ds::ILIDSVID::load(root.path(), {.split_index = 2}); });
  CHECK(mentions(message, "--split-index 2"));
  CHECK(mentions(message, "2 splits (0..1)"));
}

TEST_CASE("a malformed iLIDS-VID tree is reported with the folder, file or variable at fault") {
  fgreid::test::TempDir root;
  write_ilids(root.path());
  const auto mat = root / "train-test people splits" / "train_test_splits_ilidsvid.mat";
  const auto load = [&] { (void)ds::ILIDSVID::load(root.path(), {}); };
  SUBCASE("a person of cam1 missing from cam2") {
    fs::remove_all(root / "i-LIDS-VID" / "sequences" / "cam2" / "person004");
    CHECK(mentions(error_of(load), (root / "i-LIDS-VID" / "sequences" / "cam2" / "person004").string()));
  }
  SUBCASE("ls_set not one column per person") {
    ds::write_mat_matrices(mat, {{"ls_set", ds::MatMatrix::from_rows(1, 3, {1, 2, 3})}});
    const auto message = error_of(load);
    CHECK(mentions(message, mat.string()));
    CHECK(mentions(message, "'ls_set' is 1×3"));
  }
  SUBCASE("a split that is not a permutation") {
    ds::write_mat_matrices(mat, {{"ls_set", ds::MatMatrix::from_rows(1, 4, {1, 2, 2, 4})}});
    CHECK(mentions(error_of(load), "ls_set(1, 3) = 2"));
  }
  SUBCASE("a person folder without frames") {
    for (const auto& frame : fs::directory_iterator(root / "i-LIDS-VID" / "sequences" / "cam2" / "person010"))
      fs::remove(frame.path());
    CHECK(mentions(error_of(load), (root / "i-LIDS-VID" / "sequences" / "cam2" / "person010").string()));
  }
  SUBCASE("the split file missing") {
    fs::remove(mat);
    CHECK(mentions(error_of(load), mat.string()));
  }
}

// --- PRID-2011 -----------------------------------------------------------------------------

namespace {

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

// --- DukeMTMC-VideoReID --------------------------------------------------------------------

namespace {

void write_duke_video(const fs::path& base) {
  // train: person 1 with a tracklet starting at F0002 (old and new names mixed in the release)
  for (const auto* name : {"0001_C1_F0002_X00100.jpg", "0001_C1_F0003_X00112.jpg", "0001_C1_F0004_X00124.jpg"})
    write_image(base / "train" / "0001" / "0001" / name);
  for (const auto* name : {"0001C3F99X20000.jpg", "0001C3F100X20012.jpg"})  // 99 before 100
    write_image(base / "train" / "0001" / "0002" / name);
  write_image(base / "train" / "0007" / "0001" / "0007_C8_F0001_X05000.jpg");
  for (const auto* name : {"0002_C2_F0001_X01000.jpg", "0002_C2_F0002_X01012.jpg"})
    write_image(base / "query" / "0002" / "0001" / name);
  for (const auto* name : {"0002_C5_F0001_X03000.jpg", "0002_C5_F0002_X03012.jpg", "0002_C5_F0003_X03024.jpg"})
    write_image(base / "gallery" / "0002" / "0003" / name);
  write_image(base / "gallery" / "6000" / "0001" / "6000_C4_F0001_X07000.jpg");  // distractor
  write_text(base / "gallery" / "6000" / "0001" / "notes.txt", "not a frame");
}

}  // namespace

TEST_CASE("DukeMTMC-VideoReID tracklets are read in frame order, the camera from the names") {
  CHECK(ds::parse_duke_video_name("0001_C6_F0099_X30823.jpg")->index == 99);
  CHECK(ds::parse_duke_video_name("0001C6F0099X30823.jpg")->camera == 6);
  for (const auto* bad : {"0001_C6_F0099.jpg", "0001_c6_F0099_X30823.jpg", "1C6F0099X30823.jpg", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(ds::parse_duke_video_name(bad));
  }
  fgreid::test::TempDir root;
  write_duke_video(root / "DukeMTMC-VideoReID");
  const auto splits = ds::DukeMTMCVideoReID::load(root.path(), {});
  CHECK(ds::summarize_video(splits) == json{{"train", subset(2, 3, 3, 6, 1, 2.0, 3)},
                                            {"query", subset(1, 1, 1, 2, 2, 2.0, 2)},
                                            {"gallery", subset(2, 2, 2, 4, 1, 2.0, 3)}});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 1});
  CHECK(cams_of(splits.train) == std::vector<std::int64_t>{0, 2, 7});
  CHECK(splits.train[1].images.front().filename() == "0001C3F99X20000.jpg");
  CHECK(pids_of(splits.gallery) == std::vector<std::int64_t>{2, 6000});

  SUBCASE("malformed: two cameras in a tracklet, another person's frame, a stray person folder") {
    const auto base = root / "DukeMTMC-VideoReID";
    write_image(base / "query" / "0002" / "0001" / "0002_C3_F0003_X01024.jpg");
    auto message = error_of([&] { (void)ds::DukeMTMCVideoReID::load(root.path(), {}); });
    CHECK(mentions(message, (base / "query" / "0002" / "0001").string()));
    CHECK(mentions(message, "cameras C2 and C3"));
    fs::remove(base / "query" / "0002" / "0001" / "0002_C3_F0003_X01024.jpg");
    write_image(base / "train" / "0007" / "0001" / "0008_C8_F0002_X05012.jpg");
    CHECK(mentions(error_of([&] { (void)ds::DukeMTMCVideoReID::load(root.path(), {}); }), "0008_C8_F0002_X05012.jpg"));
    fs::remove(base / "train" / "0007" / "0001" / "0008_C8_F0002_X05012.jpg");
    fs::create_directories(base / "gallery" / "tmp");
    CHECK(mentions(error_of([&] { (void)ds::DukeMTMCVideoReID::load(root.path(), {}); }), (base / "gallery" / "tmp").string()));
  }
}

// --- the synthetic stand-ins -----------------------------------------------------------------

TEST_CASE("each synthetic video release is read back by its loader with the planned counts" *
          doctest::timeout(600)) {
  // the recipes' cache keys: written once for the tests and the end-to-end runs
  const auto mars = ds::ensure_synthetic("mars-v1", [](const fs::path& r) { ds::write_synthetic_mars(r); });
  const auto m = ds::summarize_video(ds::MARS::load(mars, {}));
  CHECK(m["train"]["ids"] == 60);
  CHECK(m["query"]["ids"] == 60);
  CHECK(m["query"]["tracklets"] == 60);
  CHECK(m["gallery"]["ids"] == 61);  // the test identities and the distractors' 0
  CHECK(m["train"]["cameras"] == 6);
  CHECK(m["split"]["junk_tracklets_dropped"] == 6);
  CHECK(m["train"]["frames"]["min"] == 2);
  CHECK(m["train"]["frames"]["max"] == 16);

  const auto ilids = ds::ensure_synthetic("ilidsvid-v1", [](const fs::path& r) { ds::write_synthetic_ilidsvid(r); });
  const auto i = ds::summarize_video(ds::ILIDSVID::load(ilids, {.split_index = 9}));
  CHECK(i["train"] == json{{"ids", 40}, {"tracklets", 80}, {"cameras", 2}, {"frames", i["train"]["frames"]}});
  CHECK(i["query"]["tracklets"] == 40);
  CHECK(i["gallery"]["tracklets"] == 40);

  const auto prid = ds::ensure_synthetic("prid2011-v1", [](const fs::path& r) { ds::write_synthetic_prid2011(r); });
  const auto p = ds::summarize_video(ds::PRID2011::load(prid, {}));
  CHECK(p["train"]["ids"] == 40);
  CHECK(p["query"]["ids"] == 40);
  CHECK(p["split"]["split_file_created"] == false);

  const auto duke = ds::ensure_synthetic("dukemtmcvideoreid-v1",
                                         [](const fs::path& r) { ds::write_synthetic_duke_video(r); });
  const auto d = ds::summarize_video(ds::DukeMTMCVideoReID::load(duke, {}));
  CHECK(d["train"]["ids"] == 60);
  CHECK(d["query"]["tracklets"] == 60);
  CHECK(d["gallery"]["ids"] == 72);

  // frames of one tracklet move: consecutive frames differ, but less than frames of two people
  const auto splits = ds::MARS::load(mars, {});
  const ds::Entry* longest = &splits.train.front();
  for (const auto& entry : splits.train) if (entry.images.size() > longest->images.size()) longest = &entry;
  const auto a = cv::imread(longest->images[0].string()), b = cv::imread(longest->images[1].string());
  const auto other = cv::imread(splits.query.front().images[0].string());
  const double step = cv::norm(a, b, cv::NORM_L1), apart = cv::norm(a, other, cv::NORM_L1);
  CHECK(step > 0.0);
  CHECK(step < apart);
}

// --- clips -----------------------------------------------------------------------------------

TEST_CASE("training clips have seq-len frames: consecutive from the seed's range, or one per chunk") {
  for (std::size_t n : {1u, 2u, 3u, 4u, 5u, 6u, 9u, 37u}) {
    for (std::size_t len : {1u, 4u, 8u}) {
      CAPTURE(n);
      CAPTURE(len);
      std::set<std::size_t> starts;
      for (std::uint64_t seed = 0; seed < 1000; ++seed) {
        const auto clip = sm::training_clip(n, len, sm::ClipSampling::consecutive, seed);
        REQUIRE(clip.size() == len);
        starts.insert(clip.front());
        for (std::size_t t = 1; t < len; ++t) {
          if (clip[t - 1] + 1 < n) CHECK(clip[t] == clip[t - 1] + 1);  // consecutive ...
          else CHECK(clip[t] == n - 1);                                 // ... then the last repeated
        }
        CHECK(clip == sm::training_clip(n, len, sm::ClipSampling::consecutive, seed));  // from its seed
        const auto chunked = sm::training_clip(n, len, sm::ClipSampling::chunks, seed);
        REQUIRE(chunked.size() == len);
        const std::size_t chunk = std::max<std::size_t>(n / len, 1);
        for (std::size_t j = 0; j < len; ++j) {
          CHECK(chunked[j] >= std::min(j * chunk, n - 1));
          CHECK(chunked[j] <= (j + 1 < len ? std::min((j + 1) * chunk - 1, n - 1) : n - 1));
        }
      }
      // every start the seed allows is drawn, none beyond: [0, max(0, n - len - 1)]
      const std::size_t last = n > len + 1 ? n - len - 1 : 0;
      CHECK(starts.size() == last + 1);
      CHECK(*starts.rbegin() == last);
    }
  }
}

TEST_CASE("test clips cover every frame as the seed's dense sampling does, capped at the first ones") {
  // the seed's VideoDataset 'dense' (tools/video_loader.py), verbatim but for the images
  const std::string script = R"(
import json
def dense(num, seq_len, max_length):
    cur_index=0
    frame_indices = [i for i in range(num)]
    indices_list=[]
    while num-cur_index > seq_len:
        indices_list.append(frame_indices[cur_index:cur_index+seq_len])
        cur_index+=seq_len
    last_seq=frame_indices[cur_index:]
    for index in last_seq:
        if len(last_seq) >= seq_len:
            break
        last_seq.append(index)
    indices_list.append(last_seq)
    out = []
    for indices in indices_list:
        if len(out) > max_length:
            break
        out.append(indices)
    return out
cases = {}
for num in list(range(1, 30)) + [163, 164, 165, 170, 400]:
    for seq_len in (1, 3, 4, 8):
        for max_length in (32, 40):
            cases["%d %d %d" % (num, seq_len, max_length)] = dense(num, seq_len, max_length)
print(json.dumps(cases))
)";
  fgreid::test::TempDir dir;
  const auto reference = fgreid::test::run_python_reference(script, dir);
  REQUIRE(reference.size() == 34 * 4 * 2);
  for (const auto& [key, clips] : reference.items()) {
    CAPTURE(key);
    std::size_t num = 0, seq_len = 0, max_length = 0;
    std::istringstream(key) >> num >> seq_len >> max_length;
    const auto ours = sm::test_clips(num, seq_len, max_length + 1);  // the seed keeps max_length + 1
    CHECK(json(ours) == clips);
    std::set<std::size_t> covered;
    for (const auto& clip : ours) {
      CHECK(clip.size() == seq_len);
      covered.insert(clip.begin(), clip.end());
    }
    if (ours.size() <= max_length) CHECK(covered.size() == num);  // uncapped: every frame
  }
}

TEST_CASE("the video sampler visits each identity once per epoch with K tracklets") {
  // identities 0..4 with 1, 2, 4, 6 and 3 tracklets
  const std::vector<std::int64_t> labels{0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4};
  sm::VideoPK<2, 3, 4> sampler(labels, {});
  CHECK(sampler.batches_per_epoch() == 2);  // 5 identities / P = 2, the last one dropped
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    sampler.reset(seed);
    std::vector<std::vector<std::int64_t>> batches;
    while (auto batch = sampler.next()) batches.push_back(*batch);
    REQUIRE(batches.size() == 2);
    std::set<std::int64_t> seen;
    for (const auto& batch : batches) {
      REQUIRE(batch.size() == 6);
      for (std::size_t g = 0; g < 2; ++g) {
        const auto pid = labels[static_cast<std::size_t>(batch[g * 3])];
        CHECK(seen.insert(pid).second);  // once per epoch
        std::set<std::int64_t> tracklets;
        for (std::size_t k = 0; k < 3; ++k) {
          CHECK(labels[static_cast<std::size_t>(batch[g * 3 + k])] == pid);
          tracklets.insert(batch[g * 3 + k]);
        }
        const auto owned = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), pid));
        if (owned >= 3) CHECK(tracklets.size() == 3);  // distinct when it can
        else CHECK(tracklets.size() <= owned);         // else drawn with replacement
      }
    }
    sm::VideoPK<2, 3, 4> twin(labels, {});
    twin.reset(seed);
    CHECK(twin.next() == batches.front());  // reproducible
  }
  const ds::Entry tracklet{.images = std::vector<fs::path>(10), .pid = 0, .camid = 0, .frame = -1};
  CHECK(sampler.clip_chooser()(tracklet, 5).size() == 4);
  CHECK(sampler.test_clip_plan()(tracklet).size() == 3);
  CHECK_THROWS_AS((sm::VideoPK<2, 3, 4>(labels, {.batch_p = 2, .batch_k = 3, .seq_len = 0})), fgreid::UsageError);
}
