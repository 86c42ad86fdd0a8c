#pragma once
// FGReID (Pathak, "Fine-Grained Re-Identification", arXiv 2011.13475) as the seed's code builds
// it (ResNet50TA_BT_image / ResNet50TA_BT_video in ppriyank/Fine-grained-Re-Identification):
//
//   x ─ base ─ conv1 ─┬─ GAP ─ bn1 ─────────────────────────────── classifier → y1   F1
//                     └─ map M = sigmoid(Σ_c softmax(GAP)_c (X_c − min X))
//   x ─ base_mars ─ conv2 ⊙ M ─ non-local ─ Σ_hw Z' / Σ_hw M ─ bn2 ─ classifier → y2   F2
//   feature = [F1, F2] (2048-D, post-BN); the classifier (bias-free) is shared.
//
// Module names are the seed's (base, base_mars, conv1, conv2, bn1, bn2, classifier, theta, g,
// w_z), the trunks' inner names torchvision's, so exports load into the seed's module after
// renaming the Sequential indices (models::from_seed_names does the reverse).
#include <fgreid/enum_names.hpp>
#include <fgreid/models/concept.hpp>
#include <fgreid/models/module.hpp>
#include <fgreid/models/resnet.hpp>
#include <fgreid/models/trunk.hpp>

#include <array>
#include <string_view>

namespace fgreid {
}  // namespace fgreid

namespace fgreid::models {

/// What the attention map's min-shift subtracts.
enum class AttentionMin {
  /// One scalar over the whole batch tensor (the seed): a feature depends on its batch mates.
  batch,
  /// Each sample's own minimum (over its frames for video): features independent of batching.
  sample
};

struct FGReIDOptions {
  /// Minimum subtracted before the attention sigmoid in training: batch (the seed's quirk: one scalar over the whole batch) or sample (each image's own).
  AttentionMin attention_min = AttentionMin::batch;
  /// The same at evaluation: sample (default, so features do not depend on --test-batch) or batch (the seed).
  AttentionMin eval_attention_min = AttentionMin::sample;
  FGREID_REFLECT(FGReIDOptions, attention_min, eval_attention_min);
};

/// The two-branch FGReID network. Channel widths are the seed's: the trunks' output (2048 for
/// ResNet-50) -> 1024 after conv1/conv2, 256 inside the non-local block.
class FGReIDNetImpl : public ReidModuleImpl {
 public:
  static constexpr std::int64_t kBranchChannels = 1024;
  static constexpr std::int64_t kNonLocalChannels = 256;

  FGReIDNetImpl(Trunk first, Trunk second, std::int64_t num_classes, FGReIDOptions options,
                Modality input);
  /// logits {y1, y2}; embedding = features = [F1, F2] [B, 2048]; attention [B, T, h, w]
  /// (T = 1 for images), with options.attention_min.
  TrainOutput forward_train(const torch::Tensor& input) override;
  /// [F1, F2] [B, 2048], with options.eval_attention_min.
  torch::Tensor forward(const torch::Tensor& input) override;
  [[nodiscard]] std::int64_t feature_dim() const override { return 2 * kBranchChannels; }
  [[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> trunks()
      override {
    return {{"base", base_.ptr()}, {"base_mars", base_mars_.ptr()}};
  }

  /// The spatial attention map [B, T, h, w] (T = 1 for images), with eval_attention_min.
  torch::Tensor attention_map(const torch::Tensor& input);
  /// The same before its sigmoid (what the seed's visualize_attention_heads.py draws: the
  /// sigmoid saturates at 1 on most positions of an untrained network).
  torch::Tensor attention_before_sigmoid(const torch::Tensor& input);

  /// The shared classifier's weight [classes, 1024] (each branch's feature goes through it).
  [[nodiscard]] torch::Tensor classifier_weight() const { return classifier_->weight; }

  /// The ImageNet-initialised trunk (`base`, the target of --pretrained).
  Trunk& base() { return base_; }
  /// The second trunk (`base_mars`, random or video-pretrained).
  Trunk& base_mars() { return base_mars_; }
  [[nodiscard]] const FGReIDOptions& options() const { return options_; }
  /// Whether it takes images [B,3,H,W] or clips [B,T,3,H,W].
  [[nodiscard]] Modality modality() const { return input_; }

 private:
  struct Pass {
    torch::Tensor logits1, logits2, features, attention;
  };
  Pass run(const torch::Tensor& input, AttentionMin minimum, bool logits);
  /// Images, or the frames of clips, as one batch [B·T, 3, H, W]; checks the input's rank.
  [[nodiscard]] torch::Tensor frames_of(const torch::Tensor& input) const;
  /// The channel-softmax-weighted, min-shifted map of conv1's output x [B·T, C, h, w].
  [[nodiscard]] torch::Tensor attention_scores(const torch::Tensor& x, std::int64_t b,
                                               std::int64_t t, AttentionMin minimum) const;

  FGReIDOptions options_;
  Modality input_;
  Trunk base_{nullptr}, base_mars_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  BatchNorm1d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  torch::nn::Conv2d theta_{nullptr}, g_{nullptr}, w_z_{nullptr};
};
TORCH_MODULE(FGReIDNet);

/// Model policy: the seed's ResNet50TA_BT_image on [B,3,H,W] images (Input image) or its
/// ResNet50TA_BT_video on [B,T,3,H,W] clips (Input video: frames go through the trunks as one
/// batch, the non-local block spans all frames × positions, both branches average over time).
/// Recipes name it through FGReIDImage / FGReIDVideo.
template <Backbone B, Modality Input>
struct FGReID {
  static constexpr std::string_view name =
      Input == Modality::image ? "model (FGReID, images)" : "model (FGReID, video clips)";
  using Options = FGReIDOptions;
  using BackbonePolicy = B;
  static constexpr Modality modality = Input;
  static std::shared_ptr<FGReIDNetImpl> build(const Options& options, const ModelContext& context) {
    return std::make_shared<FGReIDNetImpl>(B::build(typename B::Options{}),
                                           B::build(typename B::Options{}), context.num_classes,
                                           options, modality);
  }
};

///   using Model = models::FGReIDImage<>;                  // two ResNet-50, last stride 1
///   using Model = models::FGReIDImage<models::ResNet<18>>;
template <Backbone B = ResNet<50, 1>>
using FGReIDImage = FGReID<B, Modality::image>;

///   using Model = models::FGReIDVideo<>;
template <Backbone B = ResNet<50, 1>>
using FGReIDVideo = FGReID<B, Modality::video>;

}  // namespace fgreid::models

namespace fgreid {
template <>
struct EnumNames<models::AttentionMin> {
  static constexpr std::array<std::string_view, 2> values{"batch", "sample"};
};
}  // namespace fgreid
