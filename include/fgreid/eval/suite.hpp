#pragma once
// The whole evaluation of a feature set: visual metrics, and optionally k-reciprocal
// re-ranking, st-ReID fusion (both: re-ranking of 2 − 2·joint score, as the seed does), the
// single-gallery-shot protocol and a CMC plot. What fgreid_eval runs, and what a recipe calls
// after extracting features.
#include <fgreid/eval/features_file.hpp>
#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/pictures.hpp>
#include <fgreid/eval/rerank.hpp>
#include <fgreid/eval/st_reid.hpp>
#include <fgreid/eval/suite_options.hpp>

#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <string_view>
#include <vector>

namespace fgreid::eval {

/// The outcome of run_suite().
struct SuiteResult {
  /// to_json() of the visual metrics at the top level (with the default options exactly what
  /// evaluate_features gives), "protocol": "seed" under --protocol seed, and one object per
  /// extra evaluation run: "single_shot", "rerank", "st_reid", "st_reid_rerank"; with --aqe-k
  /// "aqe" (its settings; every run measured the expanded features); with --roc "roc"
  /// (roc.hpp's to_json of the last run's distances, and "of": that run's label).
  nlohmann::json metrics;
  /// One CMC curve per evaluation run, labelled, in the order above.
  std::vector<CmcCurve> curves;
  /// Nq × Ng distances of the last run (st_reid_rerank > st_reid > rerank > visual), smaller
  /// = more similar: what ranked-retrieval pictures should show.
  std::vector<float> final_distances;
};

/// Runs the evaluations `options` asks for on `features` (on the features' device where it
/// helps: distances and re-ranking's matrix products). st-ReID needs query/gallery frames and
/// the train_* entries; without them it throws std::invalid_argument saying what is missing.
/// `rerank_options` and `st_options` apply when options.rerank and options.st_reid ask for them.
[[nodiscard]] SuiteResult run_suite(const FeatureSet& features, Metric metric, int max_rank,
                                    const SuiteOptions& options,
                                    const RerankOptions& rerank_options,
                                    const StReidOptions& st_options, std::uint64_t seed = 1);

/// Why st-ReID cannot run on `features` (missing frames or training times), or "" when it can.
[[nodiscard]] std::string st_reid_unavailable(const FeatureSet& features);

/// A RerankSource over features: M is computed a block of columns at a time by one matrix
/// product on the features' device. For Metric::euclidean M holds squared distances (what the
/// reference computes from the Euclidean distances it is given, here without a square root
/// and its square): [x, ‖x‖², 1]·[−2y, 1, ‖y‖²]ᵀ gives them straight from the product. For
/// cosine it holds 1 − cosine, squared by the reference's rule. With an StModel it is the
/// seed's 2 − 2·joint score instead, with `camids`/`frames` those of queries then gallery.
class FeatureRerankSource final : public RerankSource {
 public:
  FeatureRerankSource(const torch::Tensor& query, const torch::Tensor& gallery, Metric metric);
  FeatureRerankSource(const torch::Tensor& query, const torch::Tensor& gallery,
                      std::vector<std::int64_t> camids, std::vector<std::int64_t> frames,
                      const StModel& model, const StReidOptions& options);
  [[nodiscard]] std::size_t num_query() const override { return num_query_; }
  [[nodiscard]] std::size_t num_gallery() const override { return num_gallery_; }
  void columns(std::size_t begin, std::size_t end, std::size_t first_row,
               std::span<float> out) const override;
  [[nodiscard]] float at(std::size_t i, std::size_t j) const override;
  [[nodiscard]] bool square() const override {
    return metric_ == Metric::cosine && st_model_ == nullptr;
  }
  /// Distances are; the st-ReID score is not quite (on equal frames the seed picks the
  /// histogram of an ordered camera pair by argument order).
  [[nodiscard]] bool symmetric() const override { return st_model_ == nullptr; }
  [[nodiscard]] std::size_t preferred_block() const override { return 256; }

 private:
  [[nodiscard]] float from_dot(std::size_t i, std::size_t j, double dot) const;
  std::size_t num_query_ = 0, num_gallery_ = 0;
  std::int64_t dims_ = 0;
  Metric metric_ = Metric::euclidean;
  /// [N, D + extra] float32 on the features' device: the features (unit rows for cosine), then
  /// ‖x‖², 1 (Euclidean) or 1 (cosine); left_·right_ᵀ is M, and left_'s first D columns the
  /// features themselves.
  torch::Tensor left_, right_;
  torch::Tensor left_cpu_;  ///< left_ on the CPU, for at()
  std::vector<std::int64_t> camids_, frames_;
  const StModel* st_model_ = nullptr;
  StReidOptions st_options_;
};

}  // namespace fgreid::eval
