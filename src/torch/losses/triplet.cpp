#include <fgreid/losses/triplet.hpp>

#include <limits>

namespace fgreid::losses {

std::pair<torch::Tensor, torch::Tensor> hardest_pairs(const torch::Tensor& embedding,
                                                      const torch::Tensor& labels) {
  auto x = embedding.to(torch::kFloat);
  auto squared = x.pow(2).sum(1, true);
  auto d2 = (squared + squared.t() - 2.0 * x.matmul(x.t())).clamp_min(1e-12);
  auto distances = d2.sqrt();
  auto same = labels.unsqueeze(0) == labels.unsqueeze(1);
  // Masked max / min: a pair of the wrong kind can never win.
  auto inf = std::numeric_limits<float>::infinity();
  auto positive = distances.masked_fill(same.logical_not(), -inf).amax(1);
  auto negative = distances.masked_fill(same, inf).amin(1);
  return {positive, negative};
}

LossResult Triplet::operator()(const models::TrainOutput& output,
                               const torch::Tensor& labels) const {
  auto [positive, negative] = hardest_pairs(output.embedding, labels);
  auto value = options_.soft_margin
                   ? torch::nn::functional::softplus(positive - negative).mean()
                   : torch::relu(positive - negative + options_.margin).mean();
  return {options_.triplet_weight * value, {{"triplet", value}}};
}

}  // namespace fgreid::losses
