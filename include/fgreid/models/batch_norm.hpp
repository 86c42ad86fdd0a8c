#pragma once
// The models' BatchNorm layers: LibTorch's BatchNorm1d/2d (the same parameters and buffers under
// the same names, so torchvision's weights load as before) that, once the engine turns it on for
// a torchrun run with --sync-bn, normalise training batches by the statistics of the global batch
// (nn.SyncBatchNorm's rule) instead of the rank's share.
#include <torch/torch.h>

namespace fgreid::models {

/// Whether BatchNorm layers in training mode synchronise their statistics over dist::world().
void set_batch_norm_sync(bool sync);
[[nodiscard]] bool batch_norm_sync();

/// Batch normalisation of `input` [N, C, ...] by the mean and (biased) variance of every rank's
/// batch, updating `layer`'s running statistics as one process on the whole batch would.
[[nodiscard]] torch::Tensor sync_batch_norm(const torch::Tensor& input, torch::nn::BatchNorm2dImpl& layer);
[[nodiscard]] torch::Tensor sync_batch_norm(const torch::Tensor& input, torch::nn::BatchNorm1dImpl& layer);

class BatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;
  torch::Tensor forward(const torch::Tensor& input) {
    if (is_training() && batch_norm_sync()) return sync_batch_norm(input, *this);
    return torch::nn::BatchNorm2dImpl::forward(input);
  }
};
TORCH_MODULE(BatchNorm2d);

class BatchNorm1dImpl : public torch::nn::BatchNorm1dImpl {
 public:
  using torch::nn::BatchNorm1dImpl::BatchNorm1dImpl;
  torch::Tensor forward(const torch::Tensor& input) {
    if (is_training() && batch_norm_sync()) return sync_batch_norm(input, *this);
    return torch::nn::BatchNorm1dImpl::forward(input);
  }
};
TORCH_MODULE(BatchNorm1d);

}  // namespace fgreid::models
