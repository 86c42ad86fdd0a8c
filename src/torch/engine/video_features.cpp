#include <fgreid/engine/video_features.hpp>

#include <numeric>

namespace fgreid::engine {

ClipEntries expand_clips(const std::vector<datasets::Entry>& tracklets, const ClipPlan& plan) {
  ClipEntries out;
  for (std::size_t t = 0; t < tracklets.size(); ++t) {
    const auto& tracklet = tracklets[t];
    for (const auto& clip : plan(tracklet)) {
      datasets::Entry entry{.images = {}, .pid = tracklet.pid, .camid = tracklet.camid, .frame = tracklet.frame};
      entry.images.reserve(clip.size());
      for (const auto index : clip) entry.images.push_back(tracklet.images.at(index));
      out.clips.push_back(std::move(entry));
      out.tracklet.push_back(static_cast<std::int64_t>(t));
    }
  }
  return out;
}

data::FrameChooser whole_clip() {
  return [](const datasets::Entry& clip, std::uint64_t) {
    std::vector<std::size_t> all(clip.images.size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
  };
}

torch::Tensor extract_video_features(models::ReidModuleImpl& model,
                                     const std::vector<datasets::Entry>& tracklets,
                                     const ClipPlan& plan, const DataOptions& data,
                                     const EvalOptions& eval, torch::Device device) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto expanded = expand_clips(tracklets, plan);
  const auto count = static_cast<std::int64_t>(tracklets.size());
  auto sums = torch::zeros({count, model.feature_dim()}, torch::kDouble);
  auto clips_per_tracklet = torch::zeros({count}, torch::kDouble);
  data::LoaderOptions options{data.workers, data.prefetch, device.is_cuda(), 0};
  options.frames = whole_clip();
  data::BatchLoader loader(expanded.clips,
                           data::sequential_batches(static_cast<std::int64_t>(expanded.clips.size()),
                                                    data.test_batch),
                           data::Pipeline(data.height, data.width, data.augment, /*train=*/false),
                           std::move(options));
  while (auto batch = loader.next()) {
    auto clips = batch->images.to(device, /*non_blocking=*/true);  // [B, T, 3, H, W]
    auto features = model.forward(clips);
    if (eval.flip_test) features = features + model.forward(clips.flip({-1}));
    std::vector<std::int64_t> owners;
    for (const auto index : batch->indices) owners.push_back(expanded.tracklet[static_cast<std::size_t>(index)]);
    const auto rows = torch::tensor(owners, torch::kLong);
    sums.index_add_(0, rows, features.to(torch::kCPU, torch::kDouble));
    clips_per_tracklet.index_add_(0, rows, torch::ones({rows.size(0)}, torch::kDouble));
  }
  auto features = (sums / clips_per_tracklet.clamp_min(1.0).unsqueeze(1)).to(torch::kFloat);
  if (eval.normalize_features)
    features = torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(1));
  return features;
}

}  // namespace fgreid::engine
