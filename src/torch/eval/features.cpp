#include <fgreid/eval/features.hpp>

#include <numeric>
#include <optional>
#include <tuple>

namespace fgreid::eval {

ReproducibleKernels::ReproducibleKernels()
    : benchmark_(at::globalContext().benchmarkCuDNN()), deterministic_(at::globalContext().deterministicCuDNN()) {
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicCuDNN(true);
}

ReproducibleKernels::~ReproducibleKernels() {
  at::globalContext().setBenchmarkCuDNN(benchmark_);
  at::globalContext().setDeterministicCuDNN(deterministic_);
}

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

namespace {

/// One pass of the model over `entries` (their test clips for a video dataset): for each batch,
/// the rows it fills (entries, or clips' tracklets) with the model's feature and, with `flip`,
/// that of the horizontally flipped input.
class FeaturePass {
 public:
  FeaturePass(const std::vector<datasets::Entry>& entries, const samplers::ClipPlan& clips,
              const engine::DataOptions& data, torch::Device device)
      : video_(static_cast<bool>(clips)), device_(device) {
    if (video_) expanded_ = expand_clips(entries, clips);
    const auto& inputs = video_ ? expanded_.clips : entries;
    data::LoaderOptions options{data.workers, data.prefetch, device.is_cuda(), 0};
    if (video_) options.frames = whole_clip();
    loader_.emplace(inputs, data::sequential_batches(static_cast<std::int64_t>(inputs.size()), data.test_batch),
                    data.pipeline(/*train=*/false), std::move(options));
  }
  [[nodiscard]] bool video() const { return video_; }
  [[nodiscard]] const std::vector<std::int64_t>& clip_owner() const { return expanded_.tracklet; }

  /// The next batch's {indices, feature, flipped feature (undefined without `flip`)}.
  std::optional<std::tuple<std::vector<std::int64_t>, torch::Tensor, torch::Tensor>> next(
      models::ReidModuleImpl& model, bool flip) {
    auto batch = loader_->next();
    if (!batch) return std::nullopt;
    const auto inputs = batch->images.to(device_, /*non_blocking=*/true);
    auto plain = model.forward(inputs);
    torch::Tensor flipped = flip ? model.forward(inputs.flip({-1})) : torch::Tensor();
    return std::make_tuple(std::move(batch->indices), std::move(plain), std::move(flipped));
  }

 private:
  bool video_;
  torch::Device device_;
  ClipEntries expanded_;
  std::optional<data::BatchLoader> loader_;
};

/// Rows of features [N, D] as they come: appended in order (images) or averaged into their
/// tracklets (clips).
class FeatureRows {
 public:
  FeatureRows(const FeaturePass& pass, std::int64_t entries, std::int64_t dim) {
    if (pass.video()) average_.emplace(pass.clip_owner(), entries, dim);
  }
  void add(const std::vector<std::int64_t>& indices, const torch::Tensor& features) {
    if (average_)
      average_->add(indices, features);
    else
      rows_.push_back(features.to(torch::kCPU, torch::kFloat));
  }
  [[nodiscard]] torch::Tensor result(std::int64_t dim) const {
    if (average_) return average_->mean();
    if (rows_.empty()) return torch::empty({0, dim});
    return torch::cat(rows_);
  }

 private:
  std::optional<ClipAverage> average_;
  std::vector<torch::Tensor> rows_;
};

}  // namespace

torch::Tensor extract_features(models::ReidModuleImpl& model,
                               const std::vector<datasets::Entry>& entries,
                               const samplers::ClipPlan& clips, const engine::DataOptions& data,
                               const engine::EvalOptions& eval, torch::Device device) {
  torch::NoGradGuard no_grad;
  ReproducibleKernels reproducible;
  model.eval();
  FeaturePass pass(entries, clips, data, device);
  const auto dim = model.feature_dim();
  FeatureRows rows(pass, static_cast<std::int64_t>(entries.size()), dim);
  // Images are normalised per batch on the device, as the features come; clips per clip with
  // normalize_clips, tracklets after the mean with normalize_features.
  const bool per_batch = pass.video() ? eval.normalize_clips : eval.normalize_features;
  while (auto batch = pass.next(model, eval.flip_test)) {
    auto& [indices, features, flipped] = *batch;
    if (flipped.defined()) features = features + flipped;
    rows.add(indices, per_batch ? normalized(features) : features);
  }
  const auto result = rows.result(dim);
  return pass.video() && eval.normalize_features ? normalized(result) : result;
}

FeatureViews extract_feature_views(models::ReidModuleImpl& model,
                                   const std::vector<datasets::Entry>& entries,
                                   const samplers::ClipPlan& clips, const engine::DataOptions& data,
                                   torch::Device device) {
  torch::NoGradGuard no_grad;
  ReproducibleKernels reproducible;
  model.eval();
  FeaturePass pass(entries, clips, data, device);
  const auto dim = model.feature_dim();
  const auto count = static_cast<std::int64_t>(entries.size());
  FeatureRows raw(pass, count, dim), flip_sum(pass, count, dim);
  while (auto batch = pass.next(model, /*flip=*/true)) {
    const auto& [indices, features, flipped] = *batch;
    raw.add(indices, features);
    flip_sum.add(indices, features + flipped);
  }
  return {raw.result(dim), normalized(flip_sum.result(dim))};
}

}  // namespace fgreid::eval
