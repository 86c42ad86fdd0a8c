#pragma once
// --checkpoints DIR: every checkpoint of a run evaluated the ways the seed's evaluate_image.py
// compares them (README "Market": "evaluates all saved model ... using all the techniques"):
// raw and flip + L2 test features × squared-Euclidean and cosine distances × plain,
// k-reciprocal re-ranked, st-ReID and st-ReID + re-ranked (st-ReID where the dataset has frame
// numbers; it fuses cosine similarities, so it is listed once per feature view, under cosine).
// A checkpoint's features are extracted once, both views from one pass.
#include <fgreid/engine/parts.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/eval/evaluator.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace fgreid::engine {

/// One line of the sweep's table.
struct SweepRow {
  std::string checkpoint;  ///< file name
  int epoch = 0;           ///< meta["epoch"] (0 when unknown)
  std::string features;    ///< "raw" or "flip+L2"
  std::string metric;      ///< "euclidean" or "cosine"
  std::string run;         ///< "plain", "rerank", "st", "st+rerank"
  double rank1 = 0, rank5 = 0, rank10 = 0, mAP = 0, mINP = 0;
};

/// The checkpoints (*.pt) of `folder`, by epoch (meta["epoch"], else the n of epoch_<n>.pt),
/// then name. DataError naming the folder when it is not one or holds none.
[[nodiscard]] std::vector<std::filesystem::path> checkpoint_files(const std::filesystem::path& folder);

/// The sweep's rows of one run_suite() result (its top level and its "rerank", "st_reid",
/// "st_reid_rerank" objects).
[[nodiscard]] std::vector<SweepRow> sweep_rows(const nlohmann::json& metrics, const SweepRow& head);

/// The rows as a fixed-width table (what stdout shows) and as CSV.
[[nodiscard]] std::string sweep_table(std::span<const SweepRow> rows);
[[nodiscard]] std::string sweep_csv(std::span<const SweepRow> rows);

/// Two panels, rank-1 and mAP over epochs, one line per way of evaluating; checkpoints of
/// the same epoch (best.pt, last.pt beside epoch_<n>.pt) are drawn once.
void write_sweep_plot(const std::filesystem::path& png, std::span<const SweepRow> rows);

/// The whole --checkpoints run: table on stdout, checkpoints.csv and checkpoints.png in
/// --output (default: the checkpoints' folder). Returns the exit code.
int evaluate_checkpoints(const Job& job, Parts& parts, const eval::Evaluator& evaluator,
                         torch::Device device);

}  // namespace fgreid::engine
