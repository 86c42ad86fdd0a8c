#include <fgreid/dist/differentiable.hpp>
#include <fgreid/error.hpp>
#include <fgreid/models/batch_norm.hpp>

#include <atomic>

namespace fgreid::models {

namespace {

std::atomic<bool> sync_enabled{false};

template <class Layer>
torch::Tensor normalise_globally(const torch::Tensor& input, Layer& layer) {
  const auto& options = layer.options;
  const auto channels = input.size(1);
  std::vector<std::int64_t> reduced{0}, shape(static_cast<std::size_t>(input.dim()), 1);
  for (std::int64_t d = 2; d < input.dim(); ++d) reduced.push_back(d);
  shape[1] = channels;
  const auto x = input.to(torch::kFloat);
  // Two passes, the mean first: E[x²] − E[x]² in float loses the variance of a channel whose
  // mean is large against its spread.
  const auto count = torch::full({1}, static_cast<double>(input.numel() / channels), x.options());
  const auto sums = dist::all_reduce_sum_with_grad(torch::cat({x.sum(reduced), count}));
  const auto n = sums[channels];
  const auto mean = sums.narrow(0, 0, channels) / n;
  const auto centered = x - mean.view(shape);
  const auto variance = dist::all_reduce_sum_with_grad(centered.pow(2).sum(reduced)) / n;
  auto y = centered * torch::rsqrt(variance.view(shape) + options.eps());
  if (options.affine()) y = y * layer.weight.view(shape) + layer.bias.view(shape);
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    layer.num_batches_tracked += 1;
    const double momentum = options.momentum().has_value()
                                ? *options.momentum()
                                : 1.0 / layer.num_batches_tracked.template item<double>();
    const auto total = n.item<double>();
    if (total < 2) throw DataError("SyncBatchNorm: a global batch of one value per channel has no variance");
    layer.running_mean.mul_(1 - momentum).add_(mean.detach() * momentum);
    layer.running_var.mul_(1 - momentum).add_(variance.detach() * (total / (total - 1)) * momentum);
  }
  return y.to(input.scalar_type());
}

}  // namespace

void set_batch_norm_sync(bool sync) { sync_enabled = sync; }
bool batch_norm_sync() { return sync_enabled; }

torch::Tensor sync_batch_norm(const torch::Tensor& input, torch::nn::BatchNorm2dImpl& layer) {
  return normalise_globally(input, layer);
}

torch::Tensor sync_batch_norm(const torch::Tensor& input, torch::nn::BatchNorm1dImpl& layer) {
  return normalise_globally(input, layer);
}

}  // namespace fgreid::models
