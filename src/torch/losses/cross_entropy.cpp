#include <fgreid/losses/cross_entropy.hpp>

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

}  // namespace fgreid::losses
