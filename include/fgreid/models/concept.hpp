#pragma once
#include <fgreid/models/module.hpp>
#include <fgreid/policy.hpp>

#include <memory>

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
/// Satisfied by types whose `build(Options, ModelContext)` gives a ReidModule: training
/// forward to TrainOutput, inference forward to features.
template <class M>
concept Model = Policy<M> &&
  requires(const typename M::Options& options, const models::ModelContext& context) {
    { M::build(options, context) } -> std::convertible_to<std::shared_ptr<models::ReidModuleImpl>>;
  };

}  // namespace fgreid
