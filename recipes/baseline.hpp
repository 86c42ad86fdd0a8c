#pragma once
// The BoT baseline on Market-1501: one ResNet-50, BNNeck, label-smoothed CE + triplet,
// torchreid's sampler. FGReID's recipes are measured against it.
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/experiment.hpp>
#include <fgreid/losses/cross_entropy.hpp>
#include <fgreid/losses/losses.hpp>
#include <fgreid/losses/triplet.hpp>
#include <fgreid/models/bnneck.hpp>
#include <fgreid/models/resnet.hpp>
#include <fgreid/samplers/pk.hpp>

namespace fgreid::recipes::baseline {
using Model   = models::BNNeck<models::ResNet<50>>;                      // BoT baseline
using Loss    = losses::Losses<losses::LabelSmoothCE, losses::Triplet>;  // weights in Options
using Sampler = samplers::PK<16, 4>;                                     // P ids × K images
using Dataset = datasets::Market1501;
using Recipe  = Experiment<Model, Loss, Sampler, Dataset>;
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");
}  // namespace fgreid::recipes::baseline
