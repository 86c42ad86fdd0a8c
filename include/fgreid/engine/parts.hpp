#pragma once
// What the engine needs of a recipe's policies, as interfaces: the engine is compiled once, and
// each recipe's Experiment fills these from its policy types (detail/policy_adapters.hpp). A new
// model, loss or sampler with the capabilities below gets pictures, checkpoints and clip-averaged
// features without an engine edit.
#include <fgreid/eval/evaluator.hpp>
#include <fgreid/losses/result.hpp>
#include <fgreid/models/module.hpp>
#include <fgreid/samplers/options.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fgreid::engine {

/// Named tensors a checkpoint keeps beside the model's and loads back in place.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The recipe's loss as the engine trains it.
class TrainingLoss {
 public:
  virtual ~TrainingLoss() = default;
  /// The weighted total to back-propagate, and each term for the progress line and the log.
  virtual losses::LossResult operator()(const models::TrainOutput& output,
                                        const torch::Tensor& labels) = 0;
  /// Tensors trained by the loss's own optimisers (OwnOptimizerLoss), not by the model's: the
  /// gradient scaler unscales them with the model's parameters.
  [[nodiscard]] virtual std::vector<torch::Tensor> own_parameters() = 0;
  /// Moves that state to `device`, in place.
  virtual void to(torch::Device device) = 0;
  /// One step of the own optimisers, after the model's; nothing when `skip` (the fp16 scaler's
  /// flag on the device, or undefined) is nonzero. Never waits for the device.
  virtual void step(const torch::Tensor& skip) = 0;
  /// The loss's state in a checkpoint (ClassCenterLoss: "loss.centers").
  [[nodiscard]] virtual NamedTensors state() = 0;
  /// The class centers [C, D] (ClassCenterLoss) for --plot-centers; undefined when none.
  [[nodiscard]] virtual torch::Tensor centers() = 0;
};

/// The recipe's sampler as the engine draws training batches and test clips from it.
class TrainingSampler {
 public:
  virtual ~TrainingSampler() = default;
  /// Starts an epoch drawn from `seed`.
  virtual void reset(std::uint64_t seed) = 0;
  /// The next batch of indices into the training entries; none when the epoch is over.
  virtual std::optional<std::vector<std::int64_t>> next() = 0;
  [[nodiscard]] virtual std::int64_t batches_per_epoch() const = 0;
  /// VideoSampler: the frames of a training tracklet's clip; empty for images.
  [[nodiscard]] virtual samplers::FrameChooser train_frames() const = 0;
  /// VideoSampler: a test tracklet's clips, whose features are averaged; empty for images.
  [[nodiscard]] virtual samplers::ClipPlan test_clips() const = 0;
};

/// A recipe's policies, built.
struct Parts {
  std::shared_ptr<models::ReidModuleImpl> model;
  /// What the pictures draw, from the policies' capabilities.
  eval::PictureSources pictures;
  std::unique_ptr<TrainingLoss> loss;
  std::unique_ptr<TrainingSampler> sampler;
};

}  // namespace fgreid::engine
