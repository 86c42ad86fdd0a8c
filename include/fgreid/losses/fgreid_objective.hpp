#pragma once
// The FGReID seed's whole training objective (main_scripts/Image.py), one policy per term:
//   total = ce + (1 − β)·cos_triplet + 0.0005·center + β·osm + var_weight·var + lsr + lcns.
// Each term is its own policy with its own --help group and weight; the composite sums the
// weighted totals and reports every unweighted term (progress line, log.jsonl).
#include <fgreid/losses/center.hpp>
#include <fgreid/losses/cosine_triplet.hpp>
#include <fgreid/losses/cross_entropy.hpp>
#include <fgreid/losses/osm_caa.hpp>
#include <fgreid/losses/seed_terms.hpp>
#include <fgreid/losses/losses.hpp>

namespace fgreid::losses {

using FGReIDObjective = Losses<LabelSmoothCE,      // "ce":   ε-smoothed CE, mean of both branches
                               CosineTriplet,      // "cos_triplet": weight 1 − β
                               CenterLoss,         // "center": weight 0.0005; own SGD (lr 0.5)
                               OsmCaa,             // "osm":  weight β; CenterLoss's centers
                               IdentityVariance,   // "var":  weight var_weight
                               SatisfiedRank>;     // "lsr", "lcns": weights 1, 1

static_assert(Loss<FGReIDObjective>, "see fgreid/losses/concept.hpp");

}  // namespace fgreid::losses
