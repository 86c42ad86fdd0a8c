#pragma once
// What every re-ID network gives the engine and the losses.
#include <fgreid/models/context.hpp>

#include <torch/torch.h>

#include <vector>

namespace fgreid::models {

/// One training forward pass, named so that losses say what they read.
struct TrainOutput {
  /// Identity logits, one tensor [B, classes] per classifier branch.
  std::vector<torch::Tensor> logits;
  /// The feature metric losses (triplet, center, ...) see [B, D].
  torch::Tensor embedding;
  /// The inference feature [B, D'] (post-BN).
  torch::Tensor features;
  /// A spatial attention map [B, T, h, w] (T = 1 for images), for models that have one
  /// (undefined otherwise).
  torch::Tensor attention;
};

/// The runtime interface of a model policy's network: one virtual call per batch, so the
/// engine's loop is compiled once for every recipe.
class ReidModuleImpl : public torch::nn::Module {
 public:
  /// Training-mode forward: logits and features for the losses.
  virtual TrainOutput forward_train(const torch::Tensor& images) = 0;
  /// Evaluation-mode forward: the feature used for retrieval [B, feature_dim()].
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
  [[nodiscard]] virtual std::int64_t feature_dim() const = 0;
  /// The convolutional trunks with their names in the state dict, first the one ImageNet
  /// weights go to (--pretrained), then any other (--pretrained-second).
  [[nodiscard]] virtual std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>
  trunks() = 0;
};

}  // namespace fgreid::models
