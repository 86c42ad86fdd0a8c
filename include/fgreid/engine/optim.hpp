#pragma once
// The model's optimizer and learning-rate schedule, as --optimizer/--schedule choose them, and
// the gradient scaler of fp16 mixed precision.
#include <fgreid/engine/options.hpp>

#include <torch/torch.h>

#include <memory>
#include <unordered_map>

namespace fgreid::engine {

/// Adam or SGD (momentum, Nesterov) over the model's trainable parameters. With
/// --decay-bias-bn false, biases and BatchNorm parameters form a second group without weight
/// decay (BoT's and fast-reid's option); group 0 always holds the decayed ones.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& model,
                                                        const TrainOptions& train);

/// Adam whose step is ATen's fused kernel: one launch per parameter group instead of several
/// per parameter tensor (LibTorch's Adam loops over the tensors, so on a GPU a step of a
/// ResNet-50 is some thousand small launches). Same update, same state and serialisation as
/// torch::optim::Adam (whose AMSGrad it falls back to).
class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;

 private:
  /// Each parameter's step count as a float tensor on its device, as the kernel reads it, and
  /// the count it holds.
  std::unordered_map<const void*, std::pair<torch::Tensor, std::int64_t>> step_tensors_;
};

/// The learning-rate factor of 0-based `epoch`: linear warm-up from --warmup-factor over
/// --warmup-epochs, then ×gamma at each milestone, or a cosine from 1 to 0 at the last epoch.
double lr_factor(const TrainOptions& train, int epoch);

/// Sets every parameter group's learning rate.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// Autocast for the forward pass under --amp (bf16 or fp16 on the run's device); inert when off.
class AutocastScope {
 public:
  AutocastScope(torch::Device device, AmpMode mode);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_type_;
  bool enabled_ = false, was_enabled_ = false;
  c10::ScalarType previous_dtype_;
};

/// torch.amp.GradScaler's dynamic loss scaling, for fp16: the loss is scaled before backward;
/// step() unscales the gradients, skips the step when one is inf/NaN, and grows the scale by 2
/// after 2000 clean steps or halves it after a bad one. Disabled, it passes everything through.
class GradScaler {
 public:
  GradScaler(bool enabled, torch::Device device);
  [[nodiscard]] bool enabled() const { return enabled_; }
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Unscales the gradients of `parameters` in place; true when all are finite (then step).
  bool unscale(const std::vector<torch::Tensor>& parameters);
  /// Adjusts the scale after an unscale(): call once per iteration.
  void update();
  /// The scale and its growth counter, for checkpoints (float32 [1] and int32 [1]).
  [[nodiscard]] std::vector<std::pair<std::string, torch::Tensor>> state() const;

 private:
  bool enabled_;
  torch::Tensor scale_, growth_tracker_, found_inf_;
};

}  // namespace fgreid::engine
