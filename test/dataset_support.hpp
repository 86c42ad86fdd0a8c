#pragma once
// Helpers shared by the dataset tests (test/core, no LibTorch) and the dataset recipes' tests
// (test/torch): small image and text files for a release's tree, the error a loader throws, the
// identities of entries, and running a dataset recipe to its metrics or --summary line.
#include <fgreid/datasets/splits.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
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
