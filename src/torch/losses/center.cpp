// The FGReID seed's center loss.
#include <fgreid/losses/center.hpp>

#include "detail.hpp"

namespace fgreid::losses {

using detail::at_least_float;
using detail::move_in_place;

CenterLoss::CenterLoss(Options options, const LossContext& context) : options_(options) {
  TORCH_CHECK(context.num_classes > 0 && context.feature_dim > 0,
              "CenterLoss needs the class count and feature size (LossContext), got ",
              context.num_classes, " x ", context.feature_dim);
  centers_ = torch::randn({context.num_classes, context.feature_dim}).requires_grad_(true);
}

LossResult CenterLoss::operator()(const models::TrainOutput& output,
                                  const torch::Tensor& labels) const {
  auto f = at_least_float(output.embedding);
  move_in_place(centers_, f.device());
  TORCH_CHECK(f.size(1) == centers_.size(1), "CenterLoss: the embedding has ", f.size(1),
              " dimensions but the centers ", centers_.size(1));
  auto own_centers = centers_.index_select(0, labels).to(f.scalar_type());
  auto value = (f - own_centers).pow(2).sum(1).clamp(1e-12, 1e12).sum() /
               static_cast<double>(f.size(0));
  return {options_.center_weight * value, {{"center", value}}};
}

double CenterLoss::gradient_scale() const {
  if (!options_.center_rescale_gradient || options_.center_weight == 0.0) return 1.0;
  return 1.0 / options_.center_weight;
}

void CenterLoss::step(const torch::Tensor& skip) {
  torch::NoGradGuard no_grad;
  auto& gradient = centers_.mutable_grad();
  if (!gradient.defined()) return;
  const auto update = skip.defined() ? torch::where(skip.ne(0), 0.0, gradient) : gradient;
  centers_.sub_(update, options_.center_lr * gradient_scale());
  gradient.zero_();
}

void CenterLoss::to(torch::Device device) { move_in_place(centers_, device); }

void CenterLoss::set_centers(const torch::Tensor& values) {
  TORCH_CHECK(values.sizes() == centers_.sizes(), "CenterLoss::set_centers: expected ",
              centers_.sizes(), ", got ", values.sizes());
  centers_.set_data(values.detach().clone());
}

}  // namespace fgreid::losses
