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

/// Features [N, D] (float, CPU) of the N `entries`, --test-batch inputs at a time through the
/// model's inference forward in eval mode: of each image (`clips` empty), or the mean over
/// each tracklet's `clips` of the feature of the clip [B, T, 3, H, W]. eval.flip_test adds the
/// feature of the horizontally flipped input; eval.normalize_clips L2-normalises each clip's
/// feature before the mean; eval.normalize_features L2-normalises the result. Runs under
/// ReproducibleKernels.
[[nodiscard]] torch::Tensor extract_features(models::ReidModuleImpl& model,
                                             const std::vector<datasets::Entry>& entries,
                                             const samplers::ClipPlan& clips,
                                             const engine::DataOptions& data,
                                             const engine::EvalOptions& eval, torch::Device device);

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
                                                 torch::Device device);

}  // namespace fgreid::eval
