#include <fgreid/models/fgreid.hpp>

namespace fgreid::models {

namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

nn::Conv2d pointwise(std::int64_t in, std::int64_t out, bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(bias));
}

/// The seed's weights_init_kaiming for a convolution: Kaiming-normal, fan_in, a = 0; bias 0.
void kaiming_fan_in(nn::Conv2d& conv) {
  nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanIn, torch::kLeakyReLU);
  if (conv->bias.defined()) nn::init::zeros_(conv->bias);
}

}  // namespace

FGReIDNetImpl::FGReIDNetImpl(Trunk first, Trunk second, std::int64_t num_classes,
                             FGReIDOptions options, Modality input)
    : options_(options), input_(input) {
  TORCH_CHECK(first->channels() == second->channels(),
              "FGReID: both trunks must give the same channels, not ", first->channels(), " and ",
              second->channels());
  TORCH_CHECK(num_classes > 0, "FGReID: num_classes must be positive, not ", num_classes);
  const std::int64_t channels = first->channels();
  // Registration order is the seed's, so state dicts list keys in the same order.
  base_ = register_module("base", std::move(first));
  base_mars_ = register_module("base_mars", std::move(second));
  conv1_ = register_module("conv1", pointwise(channels, kBranchChannels, true));
  conv2_ = register_module("conv2", pointwise(channels, kBranchChannels, true));
  bn1_ = register_module("bn1", BatchNorm1d(kBranchChannels));
  bn2_ = register_module("bn2", BatchNorm1d(kBranchChannels));
  classifier_ = register_module(
      "classifier", nn::Linear(nn::LinearOptions(kBranchChannels, num_classes).bias(false)));
  theta_ = register_module("theta", pointwise(kBranchChannels, kNonLocalChannels, false));
  g_ = register_module("g", pointwise(kBranchChannels, kNonLocalChannels, false));
  w_z_ = register_module("w_z", pointwise(kNonLocalChannels, kBranchChannels, false));
  kaiming_fan_in(conv1_);
  kaiming_fan_in(conv2_);
  // A zero output convolution makes the non-local block start as the identity.
  nn::init::zeros_(w_z_->weight);
}

torch::Tensor FGReIDNetImpl::frames_of(const torch::Tensor& input) const {
  const bool video = input_ == Modality::video;
  TORCH_CHECK(input.dim() == (video ? 5 : 4), "FGReID (", video ? "video" : "image",
              "): expected ", video ? "[B, T, 3, H, W] clips" : "[B, 3, H, W] images", ", got ",
              input.sizes());
  return video ? input.flatten(0, 1) : input;  // [B·T, 3, H, W]
}

torch::Tensor FGReIDNetImpl::attention_scores(const torch::Tensor& x, std::int64_t b,
                                              std::int64_t t, AttentionMin minimum) const {
  auto weights = x.mean({2, 3}).softmax(1).unsqueeze(-1).unsqueeze(-1);
  torch::Tensor low = minimum == AttentionMin::batch
                          ? x.min()
                          : x.reshape({b, -1}).amin(1).repeat_interleave(t).view({b * t, 1, 1, 1});
  return (weights * (x - low)).sum(1, /*keepdim=*/true);  // [B·T, 1, h, w]
}

FGReIDNetImpl::Pass FGReIDNetImpl::run(const torch::Tensor& input, AttentionMin minimum,
                                       bool logits) {
  const auto frames = frames_of(input);
  const std::int64_t b = input.size(0);
  const std::int64_t t = frames.size(0) / b;
  const bool video = input_ == Modality::video;

  auto second = base_mars_(frames);
  auto x = conv1_(base_(frames));  // [B·T, 1024, h, w]
  const std::int64_t h = x.size(2), w = x.size(3);

  // Branch 1 and the spatial attention.
  auto pooled1 = x.mean({2, 3});  // [B·T, 1024]
  auto map = torch::sigmoid(attention_scores(x, b, t, minimum));  // [B·T, 1, h, w]
  auto f1 = bn1_(pooled1.view({b, t, kBranchChannels}).mean(1));

  // Branch 2: the attended second-trunk features through the non-local block, over all
  // frames × positions of a sample.
  auto z = conv2_(second) * map;  // [B·T, 1024, h, w]
  if (video) z = z.view({b, t, kBranchChannels, h * w}).permute({0, 2, 1, 3});  // [B,1024,T,hw]
  auto keys = F::normalize(torch::relu(theta_(z)).reshape({b, kNonLocalChannels, -1}),
                           F::NormalizeFuncOptions().p(2).dim(1));
  auto affinity = torch::bmm(keys.transpose(1, 2), keys).softmax(-1);  // [B, N, N]
  auto values = torch::relu(g_(z)).reshape({b, kNonLocalChannels, -1}).transpose(1, 2);
  auto mixed = torch::bmm(affinity, values).transpose(1, 2).reshape(
      {b, kNonLocalChannels, z.size(2), z.size(3)});
  z = w_z_(mixed) + z;
  // Attention-weighted pooling per frame, then the mean over time.
  auto weighted = z.reshape({b, kBranchChannels, t, -1}).sum(-1) /
                  map.view({b, 1, t, -1}).sum(-1);  // [B, 1024, T]
  auto f2 = bn2_(weighted.mean(-1));

  Pass pass;
  pass.features = torch::cat({f1, f2}, 1);
  pass.attention = map.view({b, t, h, w});
  if (logits) {
    pass.logits1 = classifier_(f1);
    pass.logits2 = classifier_(f2);
  }
  return pass;
}

TrainOutput FGReIDNetImpl::forward_train(const torch::Tensor& input) {
  auto pass = run(input, options_.attention_min, /*logits=*/true);
  return TrainOutput{.logits = {pass.logits1, pass.logits2},
                     .embedding = pass.features,
                     .features = pass.features,
                     .attention = pass.attention};
}

torch::Tensor FGReIDNetImpl::forward(const torch::Tensor& input) {
  return run(input, options_.eval_attention_min, /*logits=*/false).features;
}

torch::Tensor FGReIDNetImpl::attention_map(const torch::Tensor& input) {
  return run(input, options_.eval_attention_min, /*logits=*/false).attention;
}

torch::Tensor FGReIDNetImpl::attention_before_sigmoid(const torch::Tensor& input) {
  const auto frames = frames_of(input);
  const std::int64_t b = input.size(0), t = frames.size(0) / b;
  const auto x = conv1_(base_(frames));
  return attention_scores(x, b, t, options_.eval_attention_min)
      .view({b, t, x.size(2), x.size(3)});
}

}  // namespace fgreid::models
