#pragma once
#include <fgreid/policy.hpp>
#include <fgreid/samplers/options.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace fgreid {

/// @brief A concept matching samplers: policies yielding identity-balanced index batches.
/// Satisfied by types built from (training labels, Options) that hand out one batch of
/// indices into the training entries per `next()` until the epoch is exhausted; `reset(seed)`
/// starts an epoch.
template <class S>
concept Sampler = Policy<S> &&
  std::constructible_from<S, std::span<const std::int64_t>, typename S::Options> &&
  requires(S sampler, std::uint64_t seed) {
    // epoch control
    sampler.reset(seed);
    // batching
    { sampler.next() } -> std::same_as<std::optional<std::vector<std::int64_t>>>;
    // the epoch's length, for progress and ETA
    { sampler.batches_per_epoch() } -> std::convertible_to<std::int64_t>;
  };

/// @brief A concept matching samplers of P identities × K samples.
/// Satisfied by samplers whose Options hold the shared group `BatchOptions batch`, through
/// which a recipe's defaults size the batch whatever the sampler.
template <class S>
concept BatchSampler = Sampler<S> && requires(typename S::Options& options) {
  { options.batch } -> std::same_as<samplers::BatchOptions&>;
};

/// @brief A concept matching samplers of video datasets: batches of tracklets, and clips.
/// Satisfied by batch samplers whose Options hold `ClipOptions clips`, and that give the
/// loader a training clip per tracklet (`clip_chooser()`) and the engine the test clips whose
/// features a tracklet's feature averages (`test_clip_plan()`).
template <class S>
concept VideoSampler = BatchSampler<S> &&
  requires(const S sampler, typename S::Options& options) {
    { options.clips } -> std::same_as<samplers::ClipOptions&>;
    { sampler.clip_chooser() } -> std::convertible_to<samplers::FrameChooser>;
    { sampler.test_clip_plan() } -> std::convertible_to<samplers::ClipPlan>;
  };

/// @brief A concept matching samplers of image datasets: one image per index.
/// Satisfied by samplers that are not VideoSamplers.
template <class S>
concept ImageSampler = Sampler<S> && !VideoSampler<S>;

}  // namespace fgreid
