#pragma once
// FGReID on VehicleID: market_image's model, objective, sampler and schedule; raw test features
// (the seed's for vehicleid).
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/seed_chunks.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>

namespace fgreid::recipes::vehicleid_image {
using Model   = models::FGReIDImage<>;                // two ResNet-50, last stride 1
using Loss    = losses::FGReIDObjective;              // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::SeedIdentityChunks<32, 4>;  // the seed's 32 ids × 4 images
using Dataset = datasets::VehicleID;
using Recipe  = Experiment<Model, Loss, Sampler, Dataset, defaults::Seed<defaults::TestFeatures::raw>>;
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::vehicleid_image
