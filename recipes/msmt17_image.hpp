#pragma once
// FGReID on MSMT17: market_image's model, objective, sampler and schedule on this dataset;
// raw test features, as the seed's.
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
// Raw test features: Image.py:149-150 sends every dataset it does not name to `mode = 3`, and
// test_rerank (:326-327) `if mode == 3 or mode == 7: normal = True` skips the flip and the L2.
using Recipe  = Experiment<Model, Loss, Sampler, Dataset, defaults::Seed<defaults::TestFeatures::raw>>;
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::msmt17_image
