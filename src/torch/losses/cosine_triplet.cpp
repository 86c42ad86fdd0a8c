// The FGReID seed's cosine batch-hard triplet.
#include <fgreid/losses/cosine_triplet.hpp>

#include "detail.hpp"

#include <limits>

namespace fgreid::losses {

using detail::at_least_float;
using detail::same_identity;

LossResult CosineTriplet::operator()(const models::TrainOutput& output,
                                     const torch::Tensor& labels) const {
  auto x = at_least_float(output.embedding);
  auto norms = x.norm(2, 1, /*keepdim=*/true);
  auto similarity = x.matmul(x.t()) / (norms * norms.t());
  auto same = same_identity(labels);
  const double inf = std::numeric_limits<double>::infinity();
  // max/min with indices send the gradient to one pair, as the seed's sort does.
  auto positive = std::get<0>(similarity.masked_fill(same.logical_not(), inf).min(1));
  auto negative = std::get<0>(similarity.masked_fill(same, -inf).max(1));
  auto value = torch::relu(negative - positive + options_.cosine_margin).mean();
  return {(1.0 - options_.beta_ratio) * value, {{"cos_triplet", value}}};
}

}  // namespace fgreid::losses
