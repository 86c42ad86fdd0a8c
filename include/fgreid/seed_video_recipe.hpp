#pragma once
// SeedVideoRecipe<Experiment<...>>: SeedRecipe with the seed's video choices
// (main_scripts/Video.py): 600 epochs, test features as the model gives them (averaged over a
// tracklet's clips; no flip, no normalisation), test batches of clips; and a synthetic profile
// whose batches hold as many frames as the image recipes' (8 identities × 2 tracklets × 4).
//
//   using Recipe = SeedVideoRecipe<Experiment<models::FGReIDVideo<>, losses::FGReIDObjective,
//                                             samplers::VideoPK<8, 4, 4>, datasets::MARS>>;
#include <fgreid/seed_recipe.hpp>

namespace fgreid {

template <class E>
struct SeedVideoRecipe : SeedRecipe<E, TestFeatures::raw> {
  using Base = SeedRecipe<E, TestFeatures::raw>;
  using typename Base::Config;

  static void defaults(Config& config) {
    Base::defaults(config);
    config.train.max_epoch = 600;
    config.data.test_batch = 32;  // clips of --seq-len frames
  }

  static void synthetic_profile(Config& config) {
    Base::synthetic_profile(config);
    config.sampler.batch_p = 8;
    config.sampler.batch_k = 2;
  }
};

}  // namespace fgreid
