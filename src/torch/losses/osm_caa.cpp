// The FGReID seed's OSM + CAA term.
#include <fgreid/losses/osm_caa.hpp>

#include "detail.hpp"

namespace fgreid::losses {

using detail::at_least_float;
using detail::l2_normalised_rows;
using detail::move_in_place;
using detail::same_identity;

LossResult OsmCaa::operator()(const models::TrainOutput& output,
                              const torch::Tensor& labels) const {
  TORCH_CHECK(centers_.defined(),
              "OsmCaa has no class centers: compose it with losses::CenterLoss in one "
              "losses::Losses<...> (which links them) or call use_centers()");
  auto x = l2_normalised_rows(at_least_float(output.embedding));
  move_in_place(centers_, x.device());
  const auto n = x.size(0);

  auto squared = x.pow(2).sum(1, /*keepdim=*/true);
  auto d = (squared + squared.t() - 2.0 * x.matmul(x.t())).clamp_min(1e-12).sqrt();
  auto same = same_identity(labels).to(x.scalar_type());
  auto different = 1.0 - same;
  auto off_diagonal = 1.0 - torch::eye(n, x.options());

  const double sigma = options_.osm_sigma;
  auto positive_similarity = torch::exp(-d.pow(2) / (sigma * sigma));
  auto negative_similarity = (options_.osm_alpha - d).clamp_min(1e-12);
  auto similarity = positive_similarity * same + negative_similarity * different;

  // Class-aware attention: how confidently each sample sits at its own class's center.
  auto centers = (options_.osm_trains_centers ? centers_ : centers_.detach()).to(x.scalar_type());
  auto attention_logits = x.matmul(l2_normalised_rows(centers).t());
  auto own_attention =
      torch::softmax(attention_logits, 1).gather(1, labels.unsqueeze(1)).squeeze(1);
  auto pair_attention = torch::minimum(own_attention.unsqueeze(0), own_attention.unsqueeze(1));

  auto weights = similarity * pair_attention * off_diagonal;
  auto positive_weights = weights * same;
  auto negative_weights = weights * different;
  auto positive_loss = 0.5 * (positive_weights * d.pow(2)).sum() / positive_weights.sum();
  auto negative_loss =
      0.5 * (negative_weights * negative_similarity.pow(2)).sum() / negative_weights.sum();
  auto value = (1.0 - options_.osm_l) * positive_loss + options_.osm_l * negative_loss;
  return {options_.beta_ratio * value, {{"osm", value}}};
}

}  // namespace fgreid::losses
