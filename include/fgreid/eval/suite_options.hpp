#pragma once
// What an evaluation suite runs besides the visual metrics, as flag groups (no LibTorch
// needed): the switches (SuiteOptions), and beside them the knobs of re-ranking and st-ReID.
#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/rerank.hpp>
#include <fgreid/eval/st_reid.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace fgreid::eval {

/// What to evaluate beyond the visual metrics. The knobs of re-ranking and st-ReID are their
/// own Options (RerankOptions, StReidOptions), flag groups beside this one, passed alongside.
struct SuiteOptions {
  static constexpr std::string_view flag_group = "evaluation: protocols and extra runs";
  /// Metric definitions: torchreid (mean over valid queries) or seed (trapezoid AP, all queries).
  Protocol protocol = Protocol::torchreid;
  /// Also report k-reciprocal re-ranked metrics (Zhong et al., CVPR 2017).
  bool rerank = false;
  /// Also report st-ReID metrics: visual similarity fused with camera/time histograms.
  bool st_reid = false;
  /// Also report the single-gallery-shot CMC (CUHK01/03 protocol) with this many draws; 0 = off.
  int single_shot_repeats = 0;
  /// Write the CMC curves of every evaluation run to this PNG; empty = none.
  std::filesystem::path cmc_plot;
  /// Average query expansion (fast-reid's TEST.AQE) before every run: each feature becomes the mean of its top-k neighbours' (itself included) weighted by cosine^alpha; 0 = off (fast-reid: 5).
  int aqe_k = 0;
  /// AQE: exponent of the cosine weights.
  double aqe_alpha = 3.0;
  /// AQE: rounds of expansion.
  int aqe_times = 1;
  /// Also report the ROC of the last run's distances: TPR (same identity, another camera) at FPR (other identities) 1e-4, 1e-3, 1e-2.
  bool roc = false;
  /// With --roc, draw the ROC curve into this PNG (a recipe: roc.png in its output).
  std::filesystem::path roc_plot;
  FGREID_REFLECT(SuiteOptions, protocol, rerank, st_reid, single_shot_repeats, cmc_plot, aqe_k,
                 aqe_alpha, aqe_times, roc, roc_plot);

  /// Throws UsageError naming the flag when a value is out of range (k1 in 1..1000, k2 in
  /// 1..k1+1, lambda in [0, 1], single_shot_repeats >= 0, positive st-ReID bins and widths,
  /// aqe_k >= 0, aqe_times >= 1, finite aqe_alpha).
  void check(const RerankOptions& reranking, const StReidOptions& st) const;
};

/// What fgreid_eval reads besides the suite's options.
struct OfflineOptions {
  static constexpr std::string_view flag_group = "features";
  /// Features file written by a recipe's --extract or by Python's torch.save (required).
  std::filesystem::path features;
  /// Distance between features: euclidean (squared) or cosine.
  Metric metric = Metric::euclidean;
  /// Longest CMC curve reported.
  int max_rank = 50;
  /// Seed of the single-gallery-shot draws.
  std::int64_t seed = 1;
  FGREID_REFLECT(OfflineOptions, features, metric, max_rank, seed);
};

}  // namespace fgreid::eval
