#pragma once
#include <fgreid/losses/concept.hpp>
#include <fgreid/losses/result.hpp>

namespace fgreid::losses {

/// Cross-entropy against label-smoothed targets (Szegedy et al.): q = (1−ε)·onehot + ε/C,
/// averaged over the batch and over the model's classifier branches.
struct LabelSmoothCE {
  static constexpr std::string_view name = "loss: cross-entropy";
  struct Options {
    /// Label-smoothing ε (0 = plain cross-entropy).
    double label_smoothing = 0.1;
    /// Weight of the cross-entropy term in the total loss.
    double ce_weight = 1.0;
    FGREID_REFLECT(Options, label_smoothing, ce_weight);
  };

  LabelSmoothCE(Options options, const LossContext&) : options_(options) {}
  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) const;

 private:
  Options options_;
};

/// The smoothed cross-entropy of one logits tensor, mean over the batch.
torch::Tensor label_smooth_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                         double epsilon);

}  // namespace fgreid::losses
