#pragma once
// A recipe's defaults: the values its flags start from, over those of the Options themselves.
// An Experiment takes any number of defaults policies after its four structural ones and
// applies them in order, so defaults layer by composition:
//
//   using Recipe = Experiment<Model, Loss, Sampler, Dataset,
//                             defaults::Seed<defaults::TestFeatures::raw>,   // the seed's
//                             SingleShotCMC>;                                 // then the recipe's
#include <concepts>

namespace fgreid {

/// @brief A concept matching recipe-defaults policies for an Experiment's Config.
/// Satisfied by types with `defaults(Config&)` (applied to every run) or
/// `synthetic_profile(Config&)` (applied after it without --data-root, to size a run for the
/// small synthetic data), or both. Either may be a template over the Config, whose
/// ModelPolicy, LossPolicy, SamplerPolicy and DatasetPolicy name the recipe's policies.
template <class D, class Config>
concept RecipeDefaults = requires(Config& config) { D::defaults(config); } ||
                         requires(Config& config) { D::synthetic_profile(config); };

namespace defaults {

/// Applies `D::defaults` when D has it.
template <class D, class Config>
void apply_defaults(Config& config) {
  if constexpr (requires { D::defaults(config); }) D::defaults(config);
}

/// Applies `D::synthetic_profile` when D has it.
template <class D, class Config>
void apply_synthetic_profile(Config& config) {
  if constexpr (requires { D::synthetic_profile(config); }) D::synthetic_profile(config);
}

}  // namespace defaults
}  // namespace fgreid
