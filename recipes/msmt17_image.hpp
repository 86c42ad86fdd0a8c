#pragma once
// FGReID on MSMT17: market_image's model, objective, sampler and schedule on this dataset.
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/seed_chunks.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>

namespace fgreid::recipes::msmt17_image {
using Model   = models::FGReIDImage<>;                // two ResNet-50, last stride 1
using Loss    = losses::FGReIDObjective;              // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::SeedIdentityChunks<32, 4>;  // the seed's 32 ids × 4 images
using Dataset = datasets::MSMT17;
using Recipe  = Experiment<Model, Loss, Sampler, Dataset, defaults::Seed<>>;  // flip + L2 test features
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::msmt17_image
