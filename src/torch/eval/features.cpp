#include <fgreid/eval/features.hpp>

#include <numeric>
#include <optional>

namespace fgreid::eval {

ClipEntries expand_clips(const std::vector<datasets::Entry>& tracklets, const samplers::ClipPlan& plan) {
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

samplers::FrameChooser whole_clip() {
  return [](const datasets::Entry& clip, std::uint64_t) {
    std::vector<std::size_t> all(clip.images.size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
  };
}

namespace {

/// The model's feature of a batch, plus that of the flipped input with flip_test.
torch::Tensor batch_features(models::ReidModuleImpl& model, const torch::Tensor& inputs,
                             const engine::EvalOptions& eval) {
  auto features = model.forward(inputs);
  if (eval.flip_test) features = features + model.forward(inputs.flip({-1}));
  return features;
}

torch::Tensor normalized(const torch::Tensor& features) {
  return torch::nn::functional::normalize(features,
                                          torch::nn::functional::NormalizeFuncOptions().dim(1));
}

/// Sums each clip's feature into its tracklet's row (in double), then divides by the counts.
class ClipAverage {
 public:
  ClipAverage(std::vector<std::int64_t> owner, std::int64_t tracklets, std::int64_t dim)
      : owner_(std::move(owner)),
        sums_(torch::zeros({tracklets, dim}, torch::kDouble)),
        counts_(torch::zeros({tracklets}, torch::kDouble)) {}
  void add(const std::vector<std::int64_t>& clip_indices, const torch::Tensor& features) {
    std::vector<std::int64_t> owners;
    owners.reserve(clip_indices.size());
    for (const auto index : clip_indices) owners.push_back(owner_[static_cast<std::size_t>(index)]);
    const auto rows = torch::tensor(owners, torch::kLong);
    sums_.index_add_(0, rows, features.to(torch::kCPU, torch::kDouble));
    counts_.index_add_(0, rows, torch::ones({rows.size(0)}, torch::kDouble));
  }
  [[nodiscard]] torch::Tensor mean() const {
    return (sums_ / counts_.clamp_min(1.0).unsqueeze(1)).to(torch::kFloat);
  }

 private:
  std::vector<std::int64_t> owner_;
  torch::Tensor sums_, counts_;
};

}  // namespace

torch::Tensor extract_features(models::ReidModuleImpl& model,
                               const std::vector<datasets::Entry>& entries,
                               const samplers::ClipPlan& clips, const engine::DataOptions& data,
                               const engine::EvalOptions& eval, torch::Device device) {
  torch::NoGradGuard no_grad;
  model.eval();
  const bool video = static_cast<bool>(clips);
  const auto expanded = video ? expand_clips(entries, clips) : ClipEntries{};
  const auto& inputs = video ? expanded.clips : entries;
  data::LoaderOptions options{data.workers, data.prefetch, device.is_cuda(), 0};
  if (video) options.frames = whole_clip();
  data::BatchLoader loader(inputs,
                           data::sequential_batches(static_cast<std::int64_t>(inputs.size()),
                                                    data.test_batch),
                           data.pipeline(/*train=*/false), std::move(options));
  std::optional<ClipAverage> average;
  if (video) average.emplace(expanded.tracklet, static_cast<std::int64_t>(entries.size()), model.feature_dim());
  std::vector<torch::Tensor> rows;
  while (auto batch = loader.next()) {
    const auto features = batch_features(model, batch->images.to(device, /*non_blocking=*/true), eval);
    if (average) {
      average->add(batch->indices, features);
    } else {
      // Images: normalised per batch on the device, as the features come.
      rows.push_back((eval.normalize_features ? normalized(features) : features).to(torch::kCPU, torch::kFloat));
    }
  }
  if (average) return eval.normalize_features ? normalized(average->mean()) : average->mean();
  if (rows.empty()) return torch::empty({0, model.feature_dim()});
  return torch::cat(rows);
}

}  // namespace fgreid::eval
