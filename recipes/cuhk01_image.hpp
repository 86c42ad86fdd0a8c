#pragma once
// FGReID on CUHK01: market_image's model, objective, sampler and schedule; raw test features
// (the seed's for cuhk01) and the single-gallery-shot CMC beside the usual metrics.
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/seed_chunks.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>

namespace fgreid::recipes::cuhk01_image {
using Model   = models::FGReIDImage<>;                // two ResNet-50, last stride 1
using Loss    = losses::FGReIDObjective;              // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::SeedIdentityChunks<32, 4>;  // the seed's 32 ids × 4 images
using Dataset = datasets::CUHK01;
/// torchreid's eval_cuhk03 protocol: also the single-gallery-shot CMC over 10 gallery draws.
struct SingleShotCMC {
  static void defaults(engine::Settings& settings) { settings.suite.single_shot_repeats = 10; }
};
using Recipe  = Experiment<Model, Loss, Sampler, Dataset,
                           defaults::Seed<defaults::TestFeatures::raw>,  // raw test features
                           SingleShotCMC>;
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::cuhk01_image
