#pragma once
// ResNet trunks with torchvision's parameter names (conv1, bn1, layer1..4; avgpool and fc
// removed), so torchvision state dicts load as they are and exported weights load back.
#include <fgreid/models/batch_norm.hpp>

#include <torch/torch.h>

namespace fgreid::models {

struct TrunkOptions {
  /// 18, 34, 50, 101 or 152.
  int depth = 50;
  /// Stride of layer4's first block: 2 as in torchvision, 1 as in re-ID (2× larger maps).
  int last_stride = 1;
};

class TrunkImpl : public torch::nn::Module {
 public:
  explicit TrunkImpl(TrunkOptions options);
  /// [B, 3, H, W] -> [B, channels(), H/16, W/16] with last stride 1 (H/32 with 2).
  torch::Tensor forward(torch::Tensor images);
  [[nodiscard]] std::int64_t channels() const;
  [[nodiscard]] const TrunkOptions& options() const { return options_; }

 private:
  TrunkOptions options_;
  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
};
TORCH_MODULE(Trunk);

}  // namespace fgreid::models
