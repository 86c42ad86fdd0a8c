#pragma once
// Spatial-temporal re-ID (Wang et al., AAAI 2019), as the seed does it
// (tools/generate_seq_market.py, tools/image_eval.py):
//   1. Training set: for each identity and camera, the mean frame of its images. For every
//      camera pair (a, b), a ≠ b, that both saw the identity, one count goes into the
//      histogram [later camera][earlier camera] at bin int(|Δ| / bin_frames). Each histogram
//      is divided by (its sum + 1e-7).
//   2. Each histogram is smoothed by a Gaussian (Parzen) kernel of σ = smoothing_bins,
//      truncated at 3σ, then renormalised the same way.
//   3. A query/gallery pair looks its probability up in [camera of the later][camera of the
//      earlier] at int(|Δ| / bin_frames); time differences past the last bin, cameras the
//      training set never showed and same-camera pairs get 0.
//   4. Joint score = 1/(1 + λv·e^(−γv·s)) · 1/(1 + λst·e^(−γst·p)), s the cosine similarity.
// Frames must be on one clock per camera: for Market-1501 the dataset adds the lengths of the
// camera's earlier sequences (market_global_frame, the seed's offset table), so frames of
// different sequences of a camera compare; different cameras are only compared through the
// learned histograms, so their clocks need not agree.
#include <fgreid/eval/metrics.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace fgreid::eval {

/// Parameters of st-ReID; the defaults are the seed's (Market-1501). The fields carry the st_
/// prefix of their flags (--st-bins, ...), which share a recipe's command line with others.
struct StReidOptions {
  static constexpr std::string_view flag_group = "evaluation: st-ReID (with --st-reid)";
  /// Frames per time-difference bin of the histograms (the seed's interval).
  double st_bin_frames = 100;
  /// Bins per camera pair; larger time differences get probability 0.
  int st_bins = 5000;
  /// Standard deviation of the Gaussian (Parzen) smoothing in bins, truncated at 3σ; 0 = none.
  double st_smoothing = 50;
  /// λ of the visual logistic 1/(1 + λ·exp(−γ·similarity)).
  double st_visual_lambda = 1;
  /// γ of the visual logistic.
  double st_visual_gamma = 5;
  /// λ of the spatial-temporal logistic 1/(1 + λ·exp(−γ·probability)).
  double st_lambda = 2;
  /// γ of the spatial-temporal logistic.
  double st_gamma = 5;
  FGREID_REFLECT(StReidOptions, st_bin_frames, st_bins, st_smoothing, st_visual_lambda,
                 st_visual_gamma, st_lambda, st_gamma);
};

/// Camera ids (0-based) and frame numbers of one side.
struct CameraTimes {
  std::span<const std::int64_t> camids;
  std::span<const std::int64_t> frames;
};

/// The smoothed per camera-pair histograms of time differences.
class StModel {
 public:
  /// Steps 1–2 above from the training set's labels (any integers), cameras and frames.
  /// Throws std::invalid_argument on sizes that differ, negative cameras or bad options.
  [[nodiscard]] static StModel fit(std::span<const std::int64_t> train_pids, CameraTimes train,
                                   const StReidOptions& options);
  /// Step 3: the probability of seeing one identity at (camid_a, frame_a) and (camid_b,
  /// frame_b); symmetric in a and b.
  [[nodiscard]] double probability(std::int64_t camid_a, std::int64_t frame_a,
                                   std::int64_t camid_b, std::int64_t frame_b) const;
  /// Histogram [later][earlier], `bins` values summing to ~1 (or all 0).
  [[nodiscard]] std::span<const double> histogram(std::int64_t later, std::int64_t earlier) const;
  [[nodiscard]] std::int64_t cameras() const { return cameras_; }

 private:
  std::int64_t cameras_ = 0;
  std::int64_t bins_ = 0;
  double bin_frames_ = 100;
  std::vector<double> histograms_;  ///< cameras × cameras × bins
};

/// Step 4 for one pair.
[[nodiscard]] double st_joint_score(double similarity, double st_probability,
                                    const StReidOptions& options);

/// Joint scores (higher = more similar) of an Nq × Ng similarity matrix, row major. Parallel.
[[nodiscard]] std::vector<float> st_fuse(std::span<const float> similarity, CameraTimes query,
                                         CameraTimes gallery, const StModel& model,
                                         const StReidOptions& options);

/// Which metric definitions to report.
enum class Protocol {
  torchreid,  ///< evaluate_market(): AP = Σ precision@k·rel_k / #rel, mean over valid queries
  seed,       ///< the seed's image_eval.py: trapezoid AP, mean over all queries
};

}  // namespace fgreid::eval

template <>
struct fgreid::EnumNames<fgreid::eval::Protocol> {
  static constexpr std::array<std::string_view, 2> values{"torchreid", "seed"};
};

namespace fgreid::eval {

/// The seed's evaluation (image_eval.evaluate + compute_mAP): junk = same pid and camera, or
/// gallery pid −1; AP = Σ_i (1/#good)·(precision_{i−1} + precision_i)/2 over the good matches
/// (precision_{−1} taken as 1 when the first match is first); CMC, mAP and mINP are averaged
/// over *all* queries, those without a good match adding 0. Ties rank by gallery index.
/// valid_queries counts the queries with a match. Throws like evaluate_market.
[[nodiscard]] Metrics evaluate_seed(std::span<const float> distances, Labels query,
                                    Labels gallery, int max_rank = 50);

/// evaluate_market() or evaluate_seed().
[[nodiscard]] Metrics evaluate_protocol(Protocol protocol, std::span<const float> distances,
                                        Labels query, Labels gallery, int max_rank = 50);

}  // namespace fgreid::eval
