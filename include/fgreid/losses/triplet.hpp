#pragma once
#include <fgreid/losses/concept.hpp>
#include <fgreid/losses/result.hpp>

namespace fgreid::losses {

/// Batch-hard triplet loss (Hermans et al.) on Euclidean distances of the model's embedding:
/// for each anchor, its farthest positive and nearest negative in the batch.
struct Triplet {
  static constexpr std::string_view name = "loss: triplet (batch-hard, Euclidean)";
  struct Options {
    /// Margin m of max(0, d(a,p) − d(a,n) + m).
    double margin = 0.3;
    /// Soft margin log(1 + exp(d(a,p) − d(a,n))) instead of the hinge (margin unused).
    bool soft_margin = false;
    /// Weight of the triplet term in the total loss.
    double triplet_weight = 1.0;
    FGREID_REFLECT(Options, margin, soft_margin, triplet_weight);
  };

  Triplet(Options options, const LossContext&) : options_(options) {}
  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) const;

 private:
  Options options_;
};

/// Per-anchor hardest positive and negative Euclidean distances, [B] each.
std::pair<torch::Tensor, torch::Tensor> hardest_pairs(const torch::Tensor& embedding,
                                                      const torch::Tensor& labels);

}  // namespace fgreid::losses
