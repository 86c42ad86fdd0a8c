#pragma once
// Test-time features of tracklets: every clip of a tracklet (the video sampler's plan) goes
// through the model, and the tracklet's feature is the mean of its clips' (the seed's Video.py
// test: clips of --seq-len frames, at most 33 or 41 of them, features.mean(0)).
#include <fgreid/data/loader.hpp>
#include <fgreid/datasets/splits.hpp>
#include <fgreid/engine/options.hpp>
#include <fgreid/models/module.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace fgreid::engine {

/// The test clips of a tracklet: each a list of indices into Entry::images, all of one length.
using ClipPlan = std::function<std::vector<std::vector<std::size_t>>(const datasets::Entry&)>;

/// The clips of `tracklets` as entries of their own (images = the clip's frames, pid and
/// camera the tracklet's), and for each clip the index of its tracklet.
struct ClipEntries {
  std::vector<datasets::Entry> clips;
  std::vector<std::int64_t> tracklet;
};
[[nodiscard]] ClipEntries expand_clips(const std::vector<datasets::Entry>& tracklets,
                                       const ClipPlan& plan);

/// The loader's chooser for an expanded clip: all its frames, in order.
[[nodiscard]] data::FrameChooser whole_clip();

/// Features [N, D] (float, CPU) of the N `tracklets`: the mean over each tracklet's clips of
/// the model's inference feature on [B, T, 3, H, W] clips (plus that of the horizontally
/// flipped clip with eval.flip_test), L2-normalised after the mean with
/// eval.normalize_features. Clips are batched --test-batch at a time.
[[nodiscard]] torch::Tensor extract_video_features(models::ReidModuleImpl& model,
                                                   const std::vector<datasets::Entry>& tracklets,
                                                   const ClipPlan& plan, const DataOptions& data,
                                                   const EvalOptions& eval, torch::Device device);

}  // namespace fgreid::engine
