// The FGReID seed's identity variance and the satisfied-rank / KL-consistency pair.
#include <fgreid/losses/seed_terms.hpp>

#include "detail.hpp"

namespace fgreid::losses {

using detail::at_least_float;
using detail::same_identity;

// --- identity variance ------------------------------------------------------------------------

LossResult IdentityVariance::operator()(const models::TrainOutput& output,
                                        const torch::Tensor& labels) const {
  auto f = at_least_float(output.embedding);
  // Each identity's sum lands in the row of its first image, found through the B × B
  // same-identity matrix: no unique(), whose output size would make the device wait (and a
  // CUDA graph impossible).
  const auto same = same_identity(labels);
  const auto first = same.to(torch::kByte).argmax(1);
  const auto counts = same.sum(1, /*keepdim=*/true).to(f.scalar_type());
  const auto own_sums = torch::zeros_like(f).index_add(0, first, f).index_select(0, first);
  auto prototypes = options_.var_k > 0 ? own_sums / static_cast<double>(options_.var_k) : own_sums / counts;
  const double batch = static_cast<double>(f.size(0));
  const auto ids = counts.reciprocal().sum().round();
  // The seed's integer arithmetic, on the device.
  const auto per_id = (batch / ids).floor();
  const auto denominator = options_.var_seed_denominator ? ((per_id - 1) * ids / per_id).floor() : batch - ids;
  if (labels.is_cpu())  // on a GPU a zero denominator shows as a loss that is not finite
    TORCH_CHECK(denominator.item<double>() > 0, "IdentityVariance needs at least two images per "
                "identity in a batch (got ", f.size(0), " images of ", ids.item<double>(), " identities)");
  auto value = (f - prototypes).pow(2).sum() / denominator;
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
