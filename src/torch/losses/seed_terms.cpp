// The FGReID seed's identity variance and the satisfied-rank / KL-consistency pair.
#include <fgreid/losses/seed_terms.hpp>

#include "detail.hpp"

namespace fgreid::losses {

using detail::at_least_float;

// --- identity variance ------------------------------------------------------------------------

LossResult IdentityVariance::operator()(const models::TrainOutput& output,
                                        const torch::Tensor& labels) const {
  auto f = at_least_float(output.embedding);
  auto [identities, index, counts] =
      torch::_unique2(labels, /*sorted=*/true, /*return_inverse=*/true, /*return_counts=*/true);
  const auto batch = f.size(0);
  const auto ids = identities.size(0);
  const auto per_id = batch / ids;
  const auto denominator = options_.var_seed_denominator ? (per_id - 1) * ids / per_id : batch - ids;
  TORCH_CHECK(denominator > 0, "IdentityVariance needs at least two images per identity in a "
              "batch (got ", batch, " images of ", ids, " identities)");

  auto sums = torch::zeros({ids, f.size(1)}, f.options()).index_add(0, index, f);
  auto prototypes = options_.var_k > 0
                        ? sums / static_cast<double>(options_.var_k)
                        : sums / counts.to(f.scalar_type()).unsqueeze(1);
  auto value = (f - prototypes.index_select(0, index)).pow(2).sum() /
               static_cast<double>(denominator);
  return {options_.var_weight * value, {{"var", value}}};
}

// --- satisfied rank + KL consistency ----------------------------------------------------------

LossResult SatisfiedRank::operator()(const models::TrainOutput& output,
                                     const torch::Tensor& labels) const {
  TORCH_CHECK(output.logits.size() == 2,
              "SatisfiedRank compares two classifier branches; the model gave ",
              output.logits.size());
  auto p1 = torch::softmax(at_least_float(output.logits[0]), 1);
  auto p2 = torch::softmax(at_least_float(output.logits[1]), 1);

  auto divergence = (p1 * torch::log(p1 / (p2 + 1e-12) + 1e-12)).sum(1).mean();
  auto consistency = torch::relu(divergence - options_.consistency_margin);

  auto target = labels.unsqueeze(1);
  auto t1 = p1.gather(1, target).squeeze(1);
  auto t2 = p2.gather(1, target).squeeze(1);
  auto rank = torch::relu(t1 - t2 + options_.rank_margin);
  auto satisfied = torch::relu(2.0 * options_.satisfied_margin - t1 - t2);
  auto rank_loss = torch::minimum(rank, satisfied).mean();

  return {options_.lsr_weight * rank_loss + options_.lcn_weight * consistency,
          {{"lsr", rank_loss}, {"lcns", consistency}}};
}

}  // namespace fgreid::losses
