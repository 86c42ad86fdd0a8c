#pragma once
// FGReID on CUHK01: market_image's model, objective, sampler and schedule; raw test features
// (the seed's for cuhk01) and the single-gallery-shot CMC beside the usual metrics.
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/seed_chunks.hpp>
#include <fgreid/seed_recipe.hpp>

namespace fgreid::recipes::cuhk01_image {
using Model   = models::FGReIDImage<>;                // two ResNet-50, last stride 1
using Loss    = losses::FGReIDObjective;              // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::SeedIdentityChunks<32, 4>;  // the seed's 32 ids × 4 images
using Dataset = datasets::CUHK01;
using Seed    = SeedRecipe<Experiment<Model, Loss, Sampler, Dataset>, TestFeatures::raw>;
struct Recipe : Seed {
  static void defaults(Config& config) {
    Seed::defaults(config);
    config.suite.single_shot_repeats = 10;  // torchreid's eval_cuhk03 draws 10 galleries
  }
};
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::cuhk01_image
