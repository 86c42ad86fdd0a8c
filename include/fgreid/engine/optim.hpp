#pragma once
// The model's optimizer and learning-rate schedule, as --optimizer/--schedule choose them, and
// the gradient scaler of fp16 mixed precision.
#include <fgreid/engine/options.hpp>

#include <torch/torch.h>

#include <memory>
#include <unordered_map>

namespace fgreid::engine {

/// The model's optimiser: LibTorch's Adam or SGD (their state, parameter groups and
/// serialisation, so checkpoints are torch::optim's) stepped by ATen's fused kernels, one launch
/// per parameter group where LibTorch loops over the tensors (some thousand small launches for a
/// ResNet-50 on a GPU). The step never waits for the device: the learning rate is read from a
/// device tensor, and a step whose fp16 gradients were not finite is skipped on the device; so a
/// CUDA graph can capture it once and replay it at every learning rate.
class ModelOptimizer {
 public:
  /// Adam or SGD (momentum, Nesterov) over the model's trainable parameters. With
  /// --decay-bias-bn false, biases and BatchNorm parameters form a second group without weight
  /// decay (BoT's and fast-reid's option); group 0 always holds the decayed ones.
  ModelOptimizer(torch::nn::Module& model, const TrainOptions& train);

  /// LibTorch's optimiser, as checkpoints save and load it. Its Adam step counts are current
  /// after sync_state(); after a load, forget_device_state().
  [[nodiscard]] torch::optim::Optimizer& torch_optimizer() { return *optimizer_; }
  [[nodiscard]] OptimizerKind kind() const { return kind_; }

  /// The learning rate of the following steps: every group's, and the device tensor they read.
  void set_learning_rate(double lr);
  /// Drops the gradients: the next backward writes them anew.
  void zero_grad() { optimizer_->zero_grad(); }
  /// One step on the parameters' gradients. `skip` (undefined, or [1] on the device): when it
  /// is nonzero the parameters, moments and step counts stay as they were.
  void step(const torch::Tensor& skip = {});
  /// Writes the step counts the device keeps into LibTorch's Adam state (waits for the device).
  void sync_state();
  /// After LibTorch's state was loaded anew: the next step takes its counts from it.
  void forget_device_state() { counts_.clear(); }

 private:
  void adam_step(torch::optim::OptimizerParamGroup& group, const torch::Tensor& skip);
  void sgd_step(torch::optim::OptimizerParamGroup& group, const torch::Tensor& skip);

  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  OptimizerKind kind_;
  torch::Tensor lr_;  ///< float [] on the parameters' device, made at the first step
  /// Adam: each parameter's step count as the fused kernel reads it (float [], on its device).
  std::unordered_map<void*, torch::Tensor> counts_;
};

/// The learning-rate factor of 0-based `epoch`: linear warm-up from --warmup-factor over
/// --warmup-epochs, then ×gamma at each milestone, or a cosine from 1 to 0 at the last epoch.
double lr_factor(const TrainOptions& train, int epoch);

/// Autocast for the forward pass under --amp (bf16 or fp16 on the run's device); inert when off.
/// Inside a CUDA graph's capture, `cache` false: a cast weight cached across the capture would
/// be read from memory the graph does not own.
class AutocastScope {
 public:
  AutocastScope(torch::Device device, AmpMode mode, bool cache = true);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_type_;
  bool enabled_ = false, was_enabled_ = false, was_caching_ = true;
  c10::ScalarType previous_dtype_;
};

/// torch.amp.GradScaler's dynamic loss scaling, for fp16: the loss is scaled before backward;
/// unscale() divides the gradients by the scale and notes on the device whether one is inf/NaN
/// (skip(): the optimisers then leave their parameters), and update() grows the scale by 2 after
/// 2000 clean steps or halves it after a bad one. Nothing waits for the device. Disabled, it
/// passes everything through.
class GradScaler {
 public:
  GradScaler(bool enabled, torch::Device device);
  [[nodiscard]] bool enabled() const { return enabled_; }
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Unscales the gradients of `parameters` in place and notes whether all are finite.
  void unscale(const std::vector<torch::Tensor>& parameters);
  /// After unscale(): [1] on the device, nonzero when a gradient was not finite (the step is
  /// skipped); undefined when disabled.
  [[nodiscard]] const torch::Tensor& skip() const { return found_inf_; }
  /// Adjusts the scale after an unscale(): call once per iteration.
  void update();
  /// The scale and its growth counter, for checkpoints (float32 [1] and int32 [1]).
  [[nodiscard]] std::vector<std::pair<std::string, torch::Tensor>> state() const;

 private:
  bool enabled_;
  torch::Tensor scale_, growth_tracker_, found_inf_;
};

}  // namespace fgreid::engine
