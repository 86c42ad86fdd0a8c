#include <fgreid/models/bnneck.hpp>

namespace fgreid::models {

BNNeckNetImpl::BNNeckNetImpl(Trunk trunk, std::int64_t num_classes, BNNeckOptions options)
    : options_(options), channels_(trunk->channels()) {
  backbone = register_module("backbone", std::move(trunk));
  bottleneck = register_module("bottleneck", BatchNorm1d(channels_));
  // BoT: the neck only normalises; a learned shift would undo the BN's centring.
  bottleneck->bias.requires_grad_(false);
  classifier = register_module(
      "classifier", torch::nn::Linear(torch::nn::LinearOptions(channels_, num_classes).bias(false)));
  torch::nn::init::normal_(classifier->weight, 0.0, 0.001);
}

TrainOutput BNNeckNetImpl::forward_train(const torch::Tensor& images) {
  auto global = backbone(images).mean({2, 3});
  auto normed = bottleneck(global);
  return TrainOutput{.logits = {classifier(normed)},
                     .embedding = global,
                     .features = options_.feature_after_bn ? normed : global,
                     .attention = {}};
}

torch::Tensor BNNeckNetImpl::forward(const torch::Tensor& images) {
  auto global = backbone(images).mean({2, 3});
  return options_.feature_after_bn ? bottleneck(global) : global;
}

}  // namespace fgreid::models
