#include <fgreid/losses/cross_entropy.hpp>
#include <fgreid/losses/triplet.hpp>

namespace fgreid::losses {

torch::Tensor label_smooth_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                                         double epsilon) {
  const auto classes = logits.size(1);
  auto log_p = torch::log_softmax(logits.to(torch::kFloat), 1);
  auto target = torch::full_like(log_p, epsilon / static_cast<double>(classes));
  target.scatter_(1, labels.unsqueeze(1), 1.0 - epsilon + epsilon / static_cast<double>(classes));
  return -(target * log_p).sum(1).mean();
}

LossResult LabelSmoothCE::operator()(const models::TrainOutput& output,
                                     const torch::Tensor& labels) const {
  torch::Tensor value;
  for (const auto& logits : output.logits) {
    auto branch = label_smooth_cross_entropy(logits, labels, options_.label_smoothing);
    value = value.defined() ? value + branch : branch;
  }
  value = value / static_cast<double>(output.logits.size());
  return {options_.ce_weight * value, {{"ce", value}}};
}

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
