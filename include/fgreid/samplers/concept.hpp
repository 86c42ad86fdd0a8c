#pragma once
#include <fgreid/policy.hpp>

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

}  // namespace fgreid
