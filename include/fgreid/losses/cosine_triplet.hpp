#pragma once
#include <fgreid/losses/concept.hpp>
#include <fgreid/losses/result.hpp>

namespace fgreid::losses {

/// Batch-hard triplet loss on cosine similarity s, as the FGReID seed computes it on the
/// model's embedding: per anchor, the least similar positive (the anchor itself counts as
/// one) and the most similar negative; mean over anchors of max(0, s(a,n) − s(a,p) + m).
/// The Euclidean variant of the baseline is losses::Triplet.
struct CosineTriplet {
  static constexpr std::string_view name = "loss: triplet (batch-hard, cosine)";
  struct Options {
    /// Margin m of max(0, s(a,n) − s(a,p) + m) on cosine similarities (the seed's tuned value).
    double cosine_margin = 2.0750171830713216e-4;
    /// β of the seed's total: the cosine triplet weighs 1 − β and OSM+CAA β (one flag sets both).
    double beta_ratio = 0.14033231327559872;
    FGREID_REFLECT(Options, cosine_margin, beta_ratio);
  };

  CosineTriplet(Options options, const LossContext&) : options_(options) {}
  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) const;

 private:
  Options options_;
};

}  // namespace fgreid::losses
