#pragma once
// The strong baseline of Luo et al. ("Bag of Tricks", BoT): backbone, global average
// pooling, a BatchNorm "neck" whose output feeds a bias-free classifier and serves as the
// inference feature; metric losses see the feature before the neck.
#include <fgreid/models/concept.hpp>
#include <fgreid/models/module.hpp>
#include <fgreid/models/trunk.hpp>

namespace fgreid::models {

struct BNNeckOptions {
  /// Inference feature after the neck's BatchNorm (BoT's choice) rather than before it.
  bool feature_after_bn = true;
  FGREID_REFLECT(BNNeckOptions, feature_after_bn);
};

class BNNeckNetImpl : public ReidModuleImpl {
 public:
  BNNeckNetImpl(Trunk backbone, std::int64_t num_classes, BNNeckOptions options);
  TrainOutput forward_train(const torch::Tensor& images) override;
  torch::Tensor forward(const torch::Tensor& images) override;
  [[nodiscard]] std::int64_t feature_dim() const override { return channels_; }
  [[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> trunks()
      override {
    return {{"backbone", backbone.ptr()}};
  }
  /// The classifier's weight [classes, channels].
  [[nodiscard]] torch::Tensor classifier_weight() const { return classifier->weight; }

 private:
  BNNeckOptions options_;
  std::int64_t channels_;
  Trunk backbone{nullptr};
  BatchNorm1d bottleneck{nullptr};
  torch::nn::Linear classifier{nullptr};
};
TORCH_MODULE(BNNeckNet);

/// Model policy: `Backbone` + GAP + BNNeck + classifier.
///   using Model = models::BNNeck<models::ResNet<50>>;
template <Backbone B>
struct BNNeck {
  static constexpr std::string_view name = "model (BNNeck baseline)";
  using Options = BNNeckOptions;
  using BackbonePolicy = B;
  static constexpr Modality modality = Modality::image;
  static std::shared_ptr<BNNeckNetImpl> build(const Options& options, const ModelContext& context) {
    return std::make_shared<BNNeckNetImpl>(B::build(typename B::Options{}), context.num_classes,
                                           options);
  }
};

}  // namespace fgreid::models
