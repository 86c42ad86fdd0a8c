#pragma once
// FGReID on your own clips (README, "Your own data"): tracklets of frames in list files or a
// folder tree under --data-root; without one, a synthetic example tree. The seed's video
// network, objective and batches of P identities × K tracklets × --seq-len frames.
#include <fgreid/datasets/custom.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/video_pk.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>

namespace fgreid::recipes::custom_video {
using Model   = models::FGReIDVideo<>;       // two ResNet-50, last stride 1, on [B,T,3,H,W] clips
using Loss    = losses::FGReIDObjective;     // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::VideoPK<8, 4, 4>;  // 8 ids × 4 tracklets × 4 frames; ≤ 41 test clips
using Dataset = datasets::CustomVideo;
using Recipe  = Experiment<Model, Loss, Sampler, Dataset, defaults::SeedVideo>;  // raw, clip-averaged features
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::custom_video
