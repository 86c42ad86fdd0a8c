#pragma once
// Center loss (Wen et al., ECCV 2016) with learnable class centers that train with their own
// optimiser, as the FGReID seed and BoT do.
#include <fgreid/losses/concept.hpp>
#include <fgreid/losses/result.hpp>

#include <concepts>
#include <tuple>
#include <vector>

namespace fgreid::losses {

/// Σ_i ‖f_i − c_{y_i}‖² / B over the model's embedding f, with centers c ~ N(0, 1) of shape
/// [classes, feature_dim]. The centers are not model parameters: they train with their own
/// SGD (`step()` after the model's step), as the seed's `optimizer_center`.
///
/// The seed also clamps the masked-out zeros of its B×C distance matrix to 1e-12, adding the
/// constant (C − 1)·1e-12 to the value (no gradient); that constant is left out here.
class CenterLoss {
 public:
  static constexpr std::string_view name = "loss: center";
  struct Options {
    /// Weight of the center term in the total loss (the seed's 0.0005).
    double center_weight = 0.0005;
    /// Learning rate of the centers' own SGD, no momentum, no schedule (the seed's 0.5).
    double center_lr = 0.5;
    /// Scale the centers' gradient by 1/center-weight before their step, as the seed and BoT do (OSM's gradient on the shared centers is scaled too); false = plain SGD on the weighted total.
    bool center_rescale_gradient = true;
    FGREID_REFLECT(Options, center_weight, center_lr, center_rescale_gradient);
  };

  /// Draws the centers ~ N(0, 1), [context.num_classes, context.feature_dim], on the CPU;
  /// they follow the features to their device on first use.
  CenterLoss(Options options, const LossContext& context);

  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) const;

  /// The centers [classes, feature_dim], a leaf that requires grad. The handle stays the same
  /// for the loss's lifetime (device moves and `set_centers` replace its data in place), so
  /// losses that read the centers (OsmCaa) may keep it.
  [[nodiscard]] const torch::Tensor& centers() const { return centers_; }
  /// What the centers' own optimiser trains.
  [[nodiscard]] std::vector<torch::Tensor> parameters() const { return {centers_}; }
  /// The centers' SGD learning rate.
  [[nodiscard]] double learning_rate() const { return options_.center_lr; }
  /// The factor applied to the centers' gradient before a step: 1/center_weight when rescaling
  /// (1 when the weight is 0, i.e. only OSM trains them), else 1.
  [[nodiscard]] double gradient_scale() const;
  /// One step of the centers' SGD: c ← c − lr · scale · ∇c, then clears ∇c. Call after the
  /// total's backward(); a no-op when the centers got no gradient. `skip` (undefined, or [1] on
  /// the device, the fp16 scaler's): when nonzero the centers stay, without waiting for it.
  void step(const torch::Tensor& skip = {});
  /// Moves the centers to `device` in place (their handle is kept).
  void to(torch::Device device);
  /// Replaces the centers' values in place (e.g. from a checkpoint), keeping the handle.
  void set_centers(const torch::Tensor& values);

 private:
  Options options_;
  torch::Tensor centers_;
};

}  // namespace fgreid::losses
