#pragma once
// The part of an Experiment that does not depend on its policies' types: compiled once in
// src/torch/engine, called by every recipe binary with its policies built and type-erased.
#include <fgreid/data/loader.hpp>
#include <fgreid/datasets/splits.hpp>
#include <fgreid/engine/options.hpp>
#include <fgreid/engine/video_features.hpp>
#include <fgreid/eval/suite.hpp>
#include <fgreid/losses/concept.hpp>
#include <fgreid/models/module.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

namespace fgreid::engine {

/// What the run is: the recipe, its resolved options and data.
struct Job {
  std::string recipe;
  std::string model_name;
  RunOptions run;
  WeightsOptions weights;
  TrainOptions train;
  DataOptions data;
  EvalOptions eval;
  eval::SuiteOptions suite;
  eval::RerankOptions rerank;
  eval::StReidOptions st;
  nlohmann::json flags;  ///< every flag's resolved value, kept with outputs and checkpoints
  std::filesystem::path data_root;
  datasets::Splits splits;
  /// Video datasets: the test clips of a tracklet, whose features are averaged (empty: images).
  ClipPlan test_clips;
};

/// The policies, built and type-erased.
struct Parts {
  std::shared_ptr<models::ReidModuleImpl> model;
  std::function<losses::LossResult(const models::TrainOutput&, const torch::Tensor&)> loss;
  /// Moves the state of losses that have their own optimiser (centers) to the device.
  std::function<void(torch::Device)> loss_state_to;
  /// Steps those losses' own optimisers, after the model's step.
  std::function<void()> loss_step;
  /// The loss's class centers [C, D] for --plot-centers (undefined when it has none); the
  /// tensor itself, kept in checkpoints as "loss.centers" and loaded back in place.
  std::function<torch::Tensor()> loss_centers;
  /// Starts a sampler epoch with a seed and yields its batches of train indices.
  std::function<data::BatchSource(std::uint64_t seed)> epoch_batches;
  std::int64_t batches_per_epoch = 0;
  /// Video datasets: the frames of a training tracklet's clip (empty: one image per entry).
  data::FrameChooser train_frames;
};

/// Trains with periodic evaluation (or only evaluates, with --evaluate), writes the outputs,
/// and prints the final metrics as the last line on stdout. Returns the exit code.
int execute(const Job& job, Parts parts);

/// Picks the device: --device auto takes CUDA when LibTorch sees a GPU.
torch::Device select_device(DeviceChoice choice);

/// Query or gallery features of `entries`: the model's inference feature, optionally plus that
/// of the flipped image, optionally L2-normalised. [N, D] float on the CPU.
torch::Tensor extract_features(models::ReidModuleImpl& model,
                               const std::vector<datasets::Entry>& entries,
                               const DataOptions& data, const EvalOptions& eval,
                               torch::Device device);

}  // namespace fgreid::engine
