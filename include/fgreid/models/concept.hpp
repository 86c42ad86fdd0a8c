#pragma once
// The model concepts, from a trunk to a whole network, and the optional capabilities of a
// network that the engine uses when they are there (pictures, checkpoints). No LibTorch here:
// the concepts name the network types; a recipe's translation unit, which has them, checks.
#include <fgreid/modality.hpp>
#include <fgreid/models/context.hpp>
#include <fgreid/policy.hpp>

#include <concepts>
#include <cstdint>
#include <memory>
#include <utility>

namespace at {
class Tensor;
}  // namespace at

namespace fgreid::models {
class ReidModuleImpl;  // models/module.hpp: the network interface the engine trains
}  // namespace fgreid::models

namespace fgreid {

/// @brief A concept matching backbone policies: a convolutional trunk.
/// Satisfied by types whose `build(Options)` gives a module mapping [B,3,H,W] images to
/// [B, channels, H/s, W/s] feature maps, with `channels` known at compile time.
template <class B>
concept Backbone = Policy<B> && requires(const typename B::Options& options) {
  { B::channels } -> std::convertible_to<std::int64_t>;
  { B::build(options) };
};

/// @brief A concept matching model policies: a whole re-ID network.
/// Satisfied by types that say what a sample is (`modality`) and whose
/// `build(Options, ModelContext)` gives a shared pointer to a network implementing
/// models::ReidModuleImpl: training forward to TrainOutput, inference forward to features.
template <class M>
concept Model = Policy<M> &&
  requires(const typename M::Options& options, const models::ModelContext& context) {
    { M::modality } -> std::convertible_to<Modality>;
    { M::build(options, context) } -> std::convertible_to<std::shared_ptr<models::ReidModuleImpl>>;
  };

/// @brief A concept matching models of single images [B, 3, H, W].
template <class M>
concept ImageModel = Model<M> && (M::modality == Modality::image);

/// @brief A concept matching models of clips [B, T, 3, H, W] (video datasets).
template <class M>
concept VideoModel = Model<M> && (M::modality == Modality::video);

namespace models {

/// The network type a model policy builds (its concrete class, e.g. FGReIDNetImpl).
template <Model M>
using NetworkOf = typename decltype(M::build(std::declval<const typename M::Options&>(),
                                             std::declval<const ModelContext&>()))::element_type;

/// @brief A concept matching networks with an identity classifier the engine can show
/// (--plot-centers draws its weights beside the features).
/// Satisfied by networks with `classifier_weight()` → [classes, D].
template <class Net>
concept ClassifierNetwork = requires(Net& net) {
  { net.classifier_weight() } -> std::same_as<at::Tensor>;
};

/// @brief A concept matching networks with a spatial attention map the engine can draw
/// (--visualize-attention).
/// Satisfied by networks whose `attention_map(inputs)` gives the map [B, T, h, w] that the
/// features are weighted by (T = 1 for images), and that say what they take (`modality()`).
template <class Net>
concept AttentionNetwork = requires(Net& net, const at::Tensor& inputs) {
  { net.attention_map(inputs) } -> std::same_as<at::Tensor>;
  { net.modality() } -> std::same_as<Modality>;
};

/// @brief A concept matching attention networks whose map is a sigmoid of scores; the scores
/// are what the pictures show (the sigmoid saturates on an untrained network).
/// Satisfied by attention networks with `attention_before_sigmoid(inputs)` → [B, T, h, w].
template <class Net>
concept ScoredAttentionNetwork = AttentionNetwork<Net> &&
  requires(Net& net, const at::Tensor& inputs) {
    { net.attention_before_sigmoid(inputs) } -> std::same_as<at::Tensor>;
  };

}  // namespace models
}  // namespace fgreid
