#pragma once
// One training step: the forward under autocast, the loss, the scaled backward, the model's
// optimiser and the loss's own, the scaler's update. Nothing in it waits for the device, so on
// CUDA (--cuda-graphs true) the whole step is captured once as a CUDA graph and replayed from
// static input buffers: one launch per step instead of a few thousand.
#include <fgreid/engine/optim.hpp>
#include <fgreid/engine/parts.hpp>
#include <fgreid/losses/result.hpp>
#include <fgreid/models/module.hpp>

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fgreid::engine {

/// What a step trains; the references outlive the step.
struct StepParts {
  models::ReidModuleImpl& model;
  TrainingLoss& loss;
  ModelOptimizer& optimizer;
  GradScaler& scaler;
};

struct StepSettings {
  AmpMode amp = AmpMode::off;
  bool channels_last = false;
  /// Capture the step as a CUDA graph after a few eager ones (CUDA only; elsewhere ignored).
  bool cuda_graphs = false;
};

class TrainStep {
 public:
  /// The loss on the model's outputs; empty: the parts' loss itself (the Trainer's gathers
  /// every rank's outputs under --loss-batch global).
  using LossOf = std::function<losses::LossResult(const models::TrainOutput&, const torch::Tensor&)>;
  /// Runs between backward and the unscale (the Trainer's gradient all-reduce); may be empty.
  using AfterBackward = std::function<void()>;

  TrainStep(StepParts parts, torch::Device device, StepSettings settings, LossOf loss_of = {},
            AfterBackward after_backward = {});
  ~TrainStep();
  TrainStep(const TrainStep&) = delete;
  TrainStep& operator=(const TrainStep&) = delete;

  /// One step on a batch on the step's device. The result is detached; under a graph its
  /// tensors are the graph's outputs, which the next step overwrites: read them before.
  losses::LossResult operator()(const torch::Tensor& images, const torch::Tensor& labels);

  /// Whether the steps are now replays of a CUDA graph.
  [[nodiscard]] bool captured() const;
  /// What the step trains and the scaler unscales: the model's parameters and the loss's own.
  [[nodiscard]] const std::vector<torch::Tensor>& parameters() const { return scaled_parameters_; }

  /// Eager steps before the capture: the optimiser's moments, cuDNN's algorithm choices and
  /// cuBLAS's workspaces are made outside the graph.
  static constexpr int eager_steps_before_capture = 3;

 private:
  struct Graph;
  /// The step itself; `capturing`: inside a CUDA graph's capture.
  losses::LossResult run(const torch::Tensor& images, const torch::Tensor& labels, bool capturing);
  /// Captures the step on `images`/`labels` and replays it once; eager (one line on stderr
  /// saying why) when the capture fails.
  losses::LossResult capture(const torch::Tensor& images, const torch::Tensor& labels);
  losses::LossResult on_graph_stream(const torch::Tensor& images, const torch::Tensor& labels);

  StepParts parts_;
  torch::Device device_;
  StepSettings settings_;
  LossOf loss_of_;
  AfterBackward after_backward_;
  /// What the scaler unscales: the model's parameters and the loss's own.
  std::vector<torch::Tensor> scaled_parameters_;
  std::unique_ptr<Graph> graph_;  ///< CUDA graphs asked for, on CUDA
};

}  // namespace fgreid::engine
