#include <fgreid/eval/features.hpp>

#include <fgreid/engine/cuda_graph.hpp>
#include <fgreid/engine/optim.hpp>

#include <fmt/format.h>

#include <ATen/cpu/Utils.h>

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

/// Whether the processor computes bf16 itself (x86's AVX512-BF16 or AMX) rather than LibTorch
/// emulating it through fp32.
bool cpu_has_native_bf16() {
  static const bool native = [] {
    const auto capabilities = at::cpu::get_cpu_capabilities();
    const auto has = [&](const std::string& name) {
      const auto found = capabilities.find(name);
      return found != capabilities.end() && found->second.isBool() && found->second.toBool();
    };
    return has("avx512_bf16") || has("amx_bf16");
  }();
  return native;
}

}  // namespace

engine::AmpMode ForwardSettings::autocast_on(torch::Device device) const {
  if (device.is_cuda()) return amp;
  // The CPU: bf16 when the run trained in it (the trainer's autocast is the same on the CPU)
  // and the processor has native bf16, where oneDNN's bf16 convolutions are faster than fp32:
  // 1.9× (3.2× with channels-last) for the baseline's extraction at 128×64, batch 16, one
  // thread, on a Xeon with AMX (bench_extract --skip-peer: 23 images/s fp32, 44 bf16, 74 bf16 +
  // channels-last), and the features agree with fp32's to bf16 rounding (test_extract_export.cpp:
  // 9e-4 at most, L2-normalised). Without it LibTorch emulates bf16, slower than fp32; fp16 is
  // emulated on every CPU (engine::place warns, 22 images/s here): fp32 then.
  if (amp == engine::AmpMode::bf16 && cpu_has_native_bf16()) return amp;
  return engine::AmpMode::off;
}

namespace {

/// `inputs` as the model's convolutions want them: channels-last image batches under
/// --channels-last, as the trainer feeds them (clips [B, T, 3, H, W] stay as they are).
torch::Tensor in_layout(const torch::Tensor& inputs, const ForwardSettings& settings) {
  if (settings.channels_last && inputs.dim() == 4) return inputs.contiguous(at::MemoryFormat::ChannelsLast);
  return inputs;
}

}  // namespace

/// The capture, its input buffer and its outputs.
struct FeatureForward::Graph {
  explicit Graph(torch::Device device) : graph(device) {}
  engine::CudaGraph graph;
  int eager_left = eager_batches_before_capture;
  bool gave_up = false;
  torch::Tensor inputs;   ///< what the graph reads: each batch of its shape is copied in
  BatchFeatures outputs;  ///< what the graph writes
};

FeatureForward::FeatureForward(models::ReidModuleImpl& model, torch::Device device, ForwardSettings settings,
                               bool flip)
    : model_(model), device_(device), settings_(settings), flip_(flip) {
  if (settings_.cuda_graphs && device_.is_cuda() && engine::CudaGraph::available())
    graph_ = std::make_unique<Graph>(device_);
}

FeatureForward::~FeatureForward() = default;

bool FeatureForward::captured() const { return graph_ && graph_->graph.captured(); }

BatchFeatures FeatureForward::run(const torch::Tensor& inputs, bool capturing) {
  engine::AutocastScope autocast(device_, settings_.autocast_on(device_), /*cache=*/!capturing);
  // Float right after the forward: the flip sum, the L2 normalisation and the clip means are
  // then float (double on the host) whatever the autocast computed the network in.
  const auto feature_of = [&](const torch::Tensor& batch) {
    return model_.forward(in_layout(batch, settings_)).to(torch::kFloat);
  };
  BatchFeatures features{feature_of(inputs), torch::Tensor()};
  if (flip_) features.flipped = feature_of(inputs.flip({-1}));
  return features;
}

BatchFeatures FeatureForward::operator()(const torch::Tensor& inputs) {
  if (!graph_ || graph_->gave_up) return run(inputs, /*capturing=*/false);
  BatchFeatures features;
  graph_->graph.on_own_stream([&] { features = on_graph_stream(inputs); });
  return features;
}

BatchFeatures FeatureForward::on_graph_stream(const torch::Tensor& inputs) {
  auto& graph = *graph_;
  if (!graph.graph.captured()) {
    if (graph.eager_left > 0) {
      --graph.eager_left;
      return run(inputs, /*capturing=*/false);
    }
    if (!capture(inputs)) return run(inputs, /*capturing=*/false);
  }
  if (!engine::CudaGraph::fits(graph.inputs, inputs)) return run(inputs, /*capturing=*/false);
  graph.inputs.copy_(inputs, /*non_blocking=*/true);
  graph.graph.replay();
  // Copies: the next replay overwrites the graph's outputs.
  const auto& [plain, flipped] = graph.outputs;
  return {plain.clone(), flipped.defined() ? flipped.clone() : torch::Tensor()};
}

bool FeatureForward::capture(const torch::Tensor& inputs) {
  auto& graph = *graph_;
  graph.inputs = inputs.clone();
  const auto failure = graph.graph.capture([&] { graph.outputs = run(graph.inputs, /*capturing=*/true); });
  if (failure) {
    fmt::print(stderr, "[fgreid] --cuda-graphs: extraction's forward cannot be captured ({}); it runs eagerly\n",
               *failure);
    graph.gave_up = true;
  }
  return !failure;
}

namespace {

/// One pass of the model over `entries` (their test clips for a video dataset): for each batch,
/// the rows it fills (entries, or clips' tracklets) with the model's feature and, with `flip`,
/// that of the horizontally flipped input.
class FeaturePass {
 public:
  FeaturePass(models::ReidModuleImpl& model, const std::vector<datasets::Entry>& entries,
              const samplers::ClipPlan& clips, const engine::DataOptions& data, torch::Device device,
              const ForwardSettings& settings, bool flip)
      : video_(static_cast<bool>(clips)), device_(device), forward_(model, device, settings, flip) {
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
  std::optional<std::tuple<std::vector<std::int64_t>, torch::Tensor, torch::Tensor>> next() {
    auto batch = loader_->next();
    if (!batch) return std::nullopt;
    auto [plain, flipped] = forward_(batch->images.to(device_, /*non_blocking=*/true));
    return std::make_tuple(std::move(batch->indices), std::move(plain), std::move(flipped));
  }

 private:
  bool video_;
  torch::Device device_;
  FeatureForward forward_;
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
                               const engine::EvalOptions& eval, torch::Device device,
                               const ForwardSettings& settings) {
  torch::NoGradGuard no_grad;
  ReproducibleKernels reproducible;
  model.eval();
  FeaturePass pass(model, entries, clips, data, device, settings, eval.flip_test);
  const auto dim = model.feature_dim();
  FeatureRows rows(pass, static_cast<std::int64_t>(entries.size()), dim);
  // Images are normalised per batch on the device, as the features come; clips per clip with
  // normalize_clips, tracklets after the mean with normalize_features.
  const bool per_batch = pass.video() ? eval.normalize_clips : eval.normalize_features;
  while (auto batch = pass.next()) {
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
                                   torch::Device device, const ForwardSettings& settings) {
  torch::NoGradGuard no_grad;
  ReproducibleKernels reproducible;
  model.eval();
  FeaturePass pass(model, entries, clips, data, device, settings, /*flip=*/true);
  const auto dim = model.feature_dim();
  const auto count = static_cast<std::int64_t>(entries.size());
  FeatureRows raw(pass, count, dim), flip_sum(pass, count, dim);
  while (auto batch = pass.next()) {
    const auto& [indices, features, flipped] = *batch;
    raw.add(indices, features);
    flip_sum.add(indices, features + flipped);
  }
  return {raw.result(dim), normalized(flip_sum.result(dim))};
}

}  // namespace fgreid::eval
