#pragma once
// FGReID on PRID-2011: the seed's video network (two ResNet-50 trunks, attention and a
// non-local block over all frames of a clip), its whole objective, and Video.py's batches of
// P identities × K tracklets × --seq-len frames; test features averaged over every clip.
#include <fgreid/datasets/prid2011.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/video_pk.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>

namespace fgreid::recipes::prid_video {
using Model   = models::FGReIDVideo<>;    // two ResNet-50, last stride 1, on [B,T,3,H,W] clips
using Loss    = losses::FGReIDObjective;  // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::VideoPK<8, 4, 4>;  // 8 ids × 4 tracklets × 4 frames; ≤ 41 test clips
using Dataset = datasets::PRID2011;
using Recipe  = Experiment<Model, Loss, Sampler, Dataset, defaults::SeedVideo>;  // raw, clip-averaged features
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::prid_video
