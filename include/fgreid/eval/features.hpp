#pragma once
// Test-time features of entries: images, or tracklets through their test clips (a video
// sampler's clip plan), whose features are averaged (the seed's Video.py test: clips of
// --seq-len frames, at most 33 or 41 of them, features.mean(0)).
#include <fgreid/data/loader.hpp>
#include <fgreid/datasets/splits.hpp>
#include <fgreid/engine/options.hpp>
#include <fgreid/models/module.hpp>
#include <fgreid/samplers/options.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace fgreid::eval {

/// The clips of `tracklets` as entries of their own (images = the clip's frames, pid and
/// camera the tracklet's), and for each clip the index of its tracklet.
struct ClipEntries {
  std::vector<datasets::Entry> clips;
  std::vector<std::int64_t> tracklet;
};
[[nodiscard]] ClipEntries expand_clips(const std::vector<datasets::Entry>& tracklets,
                                       const samplers::ClipPlan& plan);

/// The loader's chooser for an expanded clip: all its frames, in order.
[[nodiscard]] samplers::FrameChooser whole_clip();

/// While alive, cuDNN picks its convolution algorithms by heuristics and only deterministic
/// ones (benchmark off, deterministic on); the previous settings come back after. The training
/// run's evaluation and a later `--evaluate --weights` of the same checkpoint run in different
/// processes, where cudnn.benchmark's timings can pick different algorithms and so give
/// slightly different features and metrics; every extraction runs under this guard.
class ReproducibleKernels {
 public:
  ReproducibleKernels();
  ~ReproducibleKernels();
  ReproducibleKernels(const ReproducibleKernels&) = delete;
  ReproducibleKernels& operator=(const ReproducibleKernels&) = delete;

 private:
  bool benchmark_, deterministic_;
};

/// How extraction's forward runs: in the run's arithmetic and memory layout (--amp,
/// --channels-last), so that a model trained in bf16 and channels-last is measured as it ran, at
/// its speed, and on CUDA replayed as a CUDA graph (--cuda-graphs). Every extraction takes one;
/// ForwardSettings::of(settings.run) is the run's.
struct ForwardSettings {
  engine::AmpMode amp = engine::AmpMode::off;
  /// 4-D image batches in channels-last layout (the model's convolutions are, engine::place).
  bool channels_last = false;
  /// On CUDA, batches of the first full shape replay one captured forward (FeatureForward).
  bool cuda_graphs = false;

  [[nodiscard]] static ForwardSettings of(const engine::RunOptions& run) {
    return {run.amp, run.channels_last, run.cuda_graphs};
  }
  /// The autocast of the forward on `device`: the run's --amp on CUDA; on the CPU bf16 only
  /// where the processor computes it natively (AVX512-BF16, AMX), fp32 otherwise (features.cpp
  /// says why).
  [[nodiscard]] engine::AmpMode autocast_on(torch::Device device) const;
};

/// The model's features of one batch ([B, D] float, on the device) and, with flip, those of the
/// horizontally flipped batch (undefined without).
struct BatchFeatures {
  torch::Tensor plain, flipped;
};

/// Extraction's forward, batch by batch: what every extraction runs and bench_extract times.
/// With settings.cuda_graphs on CUDA, the first batch shape seen runs eagerly once, is then
/// captured as a CUDA graph (both forwards, the flip, the casts to float) and replayed for every
/// later batch of that shape; other shapes (a pass's last, smaller batch) run eagerly. Use in
/// eval mode, without gradients, while `model` lives and is not changed.
class FeatureForward {
 public:
  FeatureForward(models::ReidModuleImpl& model, torch::Device device, ForwardSettings settings, bool flip);
  ~FeatureForward();
  FeatureForward(const FeatureForward&) = delete;
  FeatureForward& operator=(const FeatureForward&) = delete;

  /// The features of `inputs`, a batch on the device; the caller owns them.
  [[nodiscard]] BatchFeatures operator()(const torch::Tensor& inputs);
  /// Whether batches now replay a CUDA graph.
  [[nodiscard]] bool captured() const;

  /// Eager batches before the capture: cuDNN's and cuBLAS's handles and workspaces are made
  /// outside the graph.
  static constexpr int eager_batches_before_capture = 1;

 private:
  struct Graph;
  BatchFeatures run(const torch::Tensor& inputs, bool capturing);
  BatchFeatures on_graph_stream(const torch::Tensor& inputs);
  /// Captures the forward on a copy of `inputs`; false (one line on stderr saying why, and every
  /// later batch eager) when the capture fails.
  bool capture(const torch::Tensor& inputs);

  models::ReidModuleImpl& model_;
  torch::Device device_;
  ForwardSettings settings_;
  bool flip_;
  std::unique_ptr<Graph> graph_;  ///< CUDA graphs asked for, on CUDA
};

/// Features [N, D] (float, CPU) of the N `entries`, --test-batch inputs at a time through the
/// model's inference forward in eval mode: of each image (`clips` empty), or the mean over
/// each tracklet's `clips` of the feature of the clip [B, T, 3, H, W]. eval.flip_test adds the
/// feature of the horizontally flipped input; eval.normalize_clips L2-normalises each clip's
/// feature before the mean; eval.normalize_features L2-normalises the result. Runs under
/// ReproducibleKernels, through FeatureForward in `settings`.
[[nodiscard]] torch::Tensor extract_features(models::ReidModuleImpl& model,
                                             const std::vector<datasets::Entry>& entries,
                                             const samplers::ClipPlan& clips,
                                             const engine::DataOptions& data,
                                             const engine::EvalOptions& eval, torch::Device device,
                                             const ForwardSettings& settings);

/// The two test features the seed compares (evaluate_image.py), from one pass of the model:
/// `raw`, the model's feature, and `flip_normalized`, feat(x) + feat(flipped x) L2-normalised
/// (for video: of the tracklet's clip means). Each [N, D] float on the CPU.
struct FeatureViews {
  torch::Tensor raw, flip_normalized;
};
[[nodiscard]] FeatureViews extract_feature_views(models::ReidModuleImpl& model,
                                                 const std::vector<datasets::Entry>& entries,
                                                 const samplers::ClipPlan& clips,
                                                 const engine::DataOptions& data,
                                                 torch::Device device, const ForwardSettings& settings);

}  // namespace fgreid::eval
