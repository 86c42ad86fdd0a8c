#pragma once
// FGReID on your own images (README, "Your own data"): list files or a folder tree under
// --data-root; without one, a synthetic example of both layouts. The BoT baseline on them is
// recipes/baseline.hpp with `using Dataset = datasets::CustomImages;` (and this include).
#include <fgreid/datasets/custom.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/seed_chunks.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>

namespace fgreid::recipes::custom_image {
using Model   = models::FGReIDImage<>;                // two ResNet-50, last stride 1
using Loss    = losses::FGReIDObjective;              // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::SeedIdentityChunks<32, 4>;  // the seed's 32 ids × 4 images
using Dataset = datasets::CustomImages;
using Recipe  = Experiment<Model, Loss, Sampler, Dataset, defaults::Seed<>>;  // flip + L2 test features
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::custom_image
