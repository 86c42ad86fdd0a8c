// Must not compile: Market-1501 holds single images, VideoPK draws clips of tracklets. The build
// of this file is a test (test/CMakeLists.txt) that passes when the compiler prints
// Experiment's message.
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/defaults/seed.hpp>
#include <fgreid/experiment.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/samplers/video_pk.hpp>

namespace fgreid::recipes::wrong_sampler {
using Recipe = Experiment<models::FGReIDImage<>, losses::FGReIDObjective, samplers::VideoPK<8, 4, 4>,
                          datasets::Market1501, defaults::Seed<>>;
static_assert(ReidExperiment<Recipe>);
}  // namespace fgreid::recipes::wrong_sampler
