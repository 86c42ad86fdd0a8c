#pragma once
// Helpers shared by the dataset tests (test/core, no LibTorch) and the dataset recipes' tests
// (test/torch): small image and text files for a release's tree, the error a loader throws, the
// identities of entries, the small release trees that several test files write (DukeMTMC-reID,
// MSMT17, VeRi-776, VRIC, MARS, iLIDS-VID), and running a dataset recipe to its metrics or
// --summary line.
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/datasets/splits.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fgreid::test {

/// A small readable .jpg (or whatever the extension says) at `path`, its folders created.
inline void write_image(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  REQUIRE(cv::imwrite(path.string(), cv::Mat(8, 4, CV_8UC3, cv::Scalar(40, 90, 160))));
}

/// `text` as the whole of the file at `path`, its folders created.
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

/// The message of the `Error` that `action` throws; fails the test when it throws none.
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

/// Whether `message` names `text` (a path converts to its string).
inline bool mentions(const std::string& message, const std::string& text) {
  return message.find(text) != std::string::npos;
}

/// The pid of each entry, in order.
inline std::vector<std::int64_t> pids_of(const std::vector<datasets::Entry>& entries) {
  std::vector<std::int64_t> pids;
  for (const auto& entry : entries) pids.push_back(entry.pid);
  return pids;
}

/// The distinct pids of `entries`.
inline std::set<std::int64_t> id_set(const std::vector<datasets::Entry>& entries) {
  const auto pids = pids_of(entries);
  return {pids.begin(), pids.end()};
}

/// [[path, pid, camid], ...] of `entries`, for comparing with a Python reference's lists.
inline nlohmann::json triples(const std::vector<datasets::Entry>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& entry : entries)
    list.push_back({entry.images.front().string(), entry.pid, entry.camid});
  return list;
}

/// The camid of each entry, in order.
inline std::vector<std::int64_t> cams_of(const std::vector<datasets::Entry>& entries) {
  std::vector<std::int64_t> cams;
  for (const auto& entry : entries) cams.push_back(entry.camid);
  return cams;
}

/// One subset of a video dataset's summary (datasets::summarize_video).
inline nlohmann::json subset(int ids, int tracklets, int cameras, int total, int min, double mean, int max) {
  return {{"ids", ids}, {"tracklets", tracklets}, {"cameras", cameras},
          {"frames", {{"total", total}, {"min", min}, {"mean", mean}, {"max", max}}}};
}

/// Every query identity of a synthetic stand-in has a gallery image on another camera. (That
/// training ids run 0..N-1 and every entry's files exist is the policy contract that
/// test_policy_contracts.cpp checks for every dataset.)
inline void check_learnable_layout(const datasets::Splits& splits) {
  std::map<std::int64_t, std::set<std::int64_t>> gallery_cameras;
  for (const auto& entry : splits.gallery) gallery_cameras[entry.pid].insert(entry.camid);
  for (const auto& entry : splits.query) {
    const auto& cameras = gallery_cameras[entry.pid];
    CHECK((cameras.size() > 1 || (cameras.size() == 1 && !cameras.contains(entry.camid))));
  }
}

// --- image releases written here, in each release's exact layout -----------------------------

/// Files that no loader may read: not .jpg, or not a file.
inline void write_strays(const std::filesystem::path& folder) {
  write_text(folder / "readme.txt", "not an image\n");
  write_text(folder / "Thumbs.db", "x");
  REQUIRE(cv::imwrite((folder / "0001_c1_f0000001.png").string(), cv::Mat(8, 4, CV_8UC3)));
  std::filesystem::create_directories(folder / "0002_c1_f0000002.jpg");
}

/// DukeMTMC-reID: three training ids (1, 5, 370), two test ids, two distractors, strays.
inline void write_duke(const std::filesystem::path& base) {
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

/// An MSMT17 release of version `folder` with image folders `train` and `test`.
inline void write_msmt17(const std::filesystem::path& root, const std::string& folder, const std::string& train,
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

/// VeRi-776: two training vehicles, the release's extra files, strays in image_test.
inline void write_veri(const std::filesystem::path& base) {
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

/// VRIC: three lists with Windows line ends, and an image in no list.
inline void write_vric(const std::filesystem::path& base) {
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

// --- video releases written here, with their .mat files ----------------------------------------

struct MarsTrack {
  std::string person;  // as in the names: 0001, 0000, 00-1
  int camera, tracklet, frames;
  double pid;  // as in the .mat
};

/// Writes the frames and names of `tracks` under `folder`; returns the .mat rows.
inline std::vector<double> write_mars_tracks(const std::filesystem::path& base, const std::string& folder,
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

/// MARS: junk (00-1) and distractor (0000) tracklets, query_IDX = `query_idx` (rows of the test table).
inline void write_mars(const std::filesystem::path& base, std::vector<double> query_idx = {6, 1}) {
  const auto train = write_mars_tracks(base, "bbox_train", "train_name.txt",
                                       {{"0001", 1, 1, 3, 1}, {"0001", 2, 1, 2, 1},
                                        {"0003", 4, 2, 4, 3}, {"00-1", 3, 1, 1, -1}});
  const auto test = write_mars_tracks(base, "bbox_test", "test_name.txt",
                                      {{"0002", 1, 1, 3, 2}, {"0002", 3, 1, 2, 2}, {"0002", 3, 2, 1, 2},
                                       {"0000", 5, 1, 2, 0}, {"00-1", 6, 1, 1, -1},
                                       {"0004", 2, 1, 5, 4}, {"0004", 6, 1, 2, 4}});
  datasets::write_mat_matrices(base / "info" / "tracks_train_info.mat",
                               {{"track_train_info", datasets::MatMatrix::from_rows(4, 4, train)}});
  datasets::write_mat_matrices(base / "info" / "tracks_test_info.mat",
                               {{"track_test_info", datasets::MatMatrix::from_rows(7, 4, test)}});
  datasets::write_mat_matrices(base / "info" / "query_IDX.mat",
                               {{"query_IDX", datasets::MatMatrix::from_rows(1, query_idx.size(), query_idx)}});
}

/// iLIDS-VID's persons and their frames in camera 1 and camera 2.
inline const std::vector<std::pair<std::string, std::array<int, 2>>> ilids_persons{
    {"person001", {3, 5}}, {"person004", {2, 4}}, {"person010", {6, 1}}, {"person011", {4, 4}}};

/// iLIDS-VID: the persons of `ilids_persons` in both cameras, and two splits.
inline void write_ilids(const std::filesystem::path& base) {
  for (const auto& [person, frames] : ilids_persons)
    for (int camera = 0; camera < 2; ++camera)
      for (int f = 0; f < frames[static_cast<std::size_t>(camera)]; ++f)
        write_image(base / "i-LIDS-VID" / "sequences" / fmt::format("cam{}", camera + 1) / person /
                    fmt::format("cam{}_{}_{:05d}.png", camera + 1, person, 317 + f * 3));
  write_text(base / "i-LIDS-VID" / "sequences" / "cam1" / "Thumbs.db", "x");  // not a person
  // split 0 tests persons 3 and 1 (person010, person001), split 1 persons 2 and 4
  datasets::write_mat_matrices(base / "train-test people splits" / "train_test_splits_ilidsvid.mat",
                               {{"ls_set", datasets::MatMatrix::from_rows(2, 4, {3, 1, 2, 4, 2, 4, 1, 3})}});
}

// --- the dataset recipes ---------------------------------------------------------------------

/// The built binary of recipes/<stem>.hpp.
inline std::string recipe(const std::string& stem) {
  return std::string(FGREID_BINARY_DIR) + "/recipe_" + stem;
}

/// The flags of a tiny image run: one epoch of small batches at 64×32 on one thread.
inline const std::string kTinyImageRun =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 1 --print-every 50"
    " --test-batch 64";

/// Runs recipe `stem` with `flags` to the end (it must succeed) and returns its last line, the
/// metrics, checked to hold rank1 and mAP in [0, 1].
inline nlohmann::json train_to_metrics(const std::string& stem, const std::string& flags) {
  TempDir dir;
  const auto result = run_command(recipe(stem) + flags + " --output " + (dir / "run").string());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto metrics = nlohmann::json::parse(last_line(result.out));
  REQUIRE(metrics.contains("rank1"));
  CHECK(metrics["rank1"].get<double>() >= 0.0);
  CHECK(metrics["rank1"].get<double>() <= 1.0);
  CHECK(metrics["mAP"].get<double>() >= 0.0);
  CHECK(metrics["mAP"].get<double>() <= 1.0);
  return metrics;
}

/// The --summary line of recipe `stem` run with `flags` (it must succeed).
inline nlohmann::json recipe_summary(const std::string& stem, const std::string& flags) {
  const auto result = run_command(recipe(stem) + " --summary " + flags);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(last_line(result.out));
}

/// Checks a --summary of `--validation 0.25`: floor(0.25 × all training ids) are held out as the
/// query, and the gallery holds every training id.
inline void check_quarter_held_out(const nlohmann::json& split) {
  const int train_ids = split["train"]["ids"].get<int>(), query_ids = split["query"]["ids"].get<int>();
  CHECK(split["split"]["validation"]["held_out_ids"] == query_ids);
  CHECK(query_ids == (train_ids + query_ids) / 4);
  CHECK(split["gallery"]["ids"] == train_ids + query_ids);
}

}  // namespace fgreid::test
