#pragma once
// The FGReID seed's two regularisers (main_scripts/Image.py, loss/loss.py): the within-identity
// variance of the embedding, and Satisfied_Rank_loss2's rank and KL-consistency terms between
// the two branches' predictions.
#include <fgreid/losses/concept.hpp>
#include <fgreid/losses/result.hpp>

#include <cstdint>

namespace fgreid::losses {

/// Within-identity variance of the embedding f over a P × K batch:
///   var = ΣΣ_i ‖f_i − proto_{y_i}‖² / N,  proto_y = (Σ_{i: y_i = y} f_i) / K_div,
/// with the seed's K_div = 4 hard-coded and N = ((K − 1)·P) div K from the sampler's P and K
/// (24 for 32 × 4). Here P is the number of identities in the batch and K = B div P.
/// Gradient flows through the prototypes too, as in the seed.
struct IdentityVariance {
  static constexpr std::string_view name = "loss: identity variance";
  struct Options {
    /// Weight of the variance term in the total loss (the seed's var_weight).
    double var_weight = 6.818137374953562e-4;
    /// Divisor K of each identity's feature sum that makes its prototype: the seed hard-codes 4 (the mean only when K = 4); 0 = that identity's image count in the batch (the true mean).
    std::int64_t var_k = 4;
    /// Divide by ((K − 1)·P) div K as the seed (a quarter of the unbiased count for K = 4); false = by B − P, the per-identity unbiased variance averaged over identities.
    bool var_seed_denominator = true;
    FGREID_REFLECT(Options, var_weight, var_k, var_seed_denominator);
  };

  IdentityVariance(Options options, const LossContext&) : options_(options) {}
  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) const;

 private:
  Options options_;
};

/// The seed's Satisfied_Rank_loss2 between the two branches' softmax outputs p1, p2 (logits[0]
/// and logits[1]), with t = the target class's probability:
///   lsr  = mean min(max(0, t1 − t2 + m_r), max(0, 2·m_s − t1 − t2)),
///   lcns = max(0, mean_i Σ_c p1 log(p1 / (p2 + 1e-12) + 1e-12) − m_c)   (KL(p1 ‖ p2)).
/// With the seed's m_r = 2 the first argument of min always exceeds the second (t ∈ [0, 1]),
/// so lsr is mean(2·m_s − t1 − t2): the rank part never acts. That is kept as the default.
struct SatisfiedRank {
  static constexpr std::string_view name = "loss: satisfied rank + KL consistency";
  struct Options {
    /// Weight of the rank term lsr in the total loss (the seed's lsr_weight).
    double lsr_weight = 1.0;
    /// Weight of the KL-consistency term lcns in the total loss (the seed's lcn_weight).
    double lcn_weight = 1.0;
    /// Rank margin m_r of max(0, t1 − t2 + m_r): the seed's 2 makes the rank part inert; 1 (commented out in the seed) lets it act when t1 < 1/2.
    double rank_margin = 2.0;
    /// Satisfaction margin m_s of max(0, 2·m_s − t1 − t2) (the seed's 1).
    double satisfied_margin = 1.0;
    /// Allowed KL(p1 ‖ p2) before the consistency term acts (the seed's 0.005).
    double consistency_margin = 0.005;
    FGREID_REFLECT(Options, lsr_weight, lcn_weight, rank_margin, satisfied_margin,
                   consistency_margin);
  };

  SatisfiedRank(Options options, const LossContext&) : options_(options) {}
  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) const;

 private:
  Options options_;
};

}  // namespace fgreid::losses
