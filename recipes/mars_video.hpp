#pragma once
// FGReID on MARS (the paper's video recipe): the seed's video network (two ResNet-50 trunks,
// attention and a non-local block over all frames of a clip), its whole objective, and
// Video.py's batches of P identities × K tracklets × --seq-len frames; tested as the seed
// reports MARS (evaluate_videos.py): 32 frames drawn per tracklet, clips flip-summed and
// L2-normalised, then averaged.
#include <fgreid/datasets/mars.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/video_pk.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>

namespace fgreid::recipes::mars_video {
using Model   = models::FGReIDVideo<>;    // two ResNet-50, last stride 1, on [B,T,3,H,W] clips
using Loss    = losses::FGReIDObjective;  // CE, cosine triplet, center, OSM+CAA, ...
using Sampler = samplers::VideoPK<8, 4, 4, samplers::ClipSampling::chunks, 33>;  // 8 ids × 4 tracklets × 4 frames; ≤ 33 test clips
using Dataset = datasets::MARS;
using Recipe  = Experiment<Model, Loss, Sampler, Dataset, defaults::SeedVideo,
                           defaults::SeedVideoEvaluation<32>>;  // evaluate_videos.py:85, max_length=32
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::mars_video
