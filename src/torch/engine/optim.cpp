#include <fgreid/engine/optim.hpp>

#include <ATen/autocast_mode.h>

#include <array>
#include <cmath>
#include <map>
#include <numbers>
#include <unordered_set>

namespace fgreid::engine {

namespace {
/// Parameters of BatchNorm layers and every bias: what --decay-bias-bn false exempts.
std::unordered_set<const void*> bias_and_norm_parameters(torch::nn::Module& model) {
  std::unordered_set<const void*> exempt;
  for (const auto& item : model.named_modules()) {
    auto& module = *item.value();
    const bool norm = module.as<torch::nn::BatchNorm1d>() || module.as<torch::nn::BatchNorm2d>() ||
                      module.as<torch::nn::BatchNorm3d>();
    for (const auto& parameter : module.named_parameters(/*recurse=*/false))
      if (norm || parameter.key() == "bias") exempt.insert(parameter.value().unsafeGetTensorImpl());
  }
  return exempt;
}
}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(torch::nn::Module& model,
                                                        const TrainOptions& train) {
  const auto exempt = train.decay_bias_bn ? std::unordered_set<const void*>{}
                                          : bias_and_norm_parameters(model);
  std::vector<torch::Tensor> decayed, undecayed;
  for (auto& parameter : model.parameters()) {
    if (!parameter.requires_grad()) continue;
    (exempt.contains(parameter.unsafeGetTensorImpl()) ? undecayed : decayed).push_back(parameter);
  }
  auto groups = [&](auto options) {
    std::vector<torch::optim::OptimizerParamGroup> out;
    out.emplace_back(decayed, std::make_unique<decltype(options)>(options));
    if (!undecayed.empty()) {
      auto plain = options;
      plain.weight_decay(0.0);
      out.emplace_back(undecayed, std::make_unique<decltype(options)>(plain));
    }
    return out;
  };
  if (train.optimizer == OptimizerKind::sgd) {
    auto options = torch::optim::SGDOptions(train.lr)
                       .momentum(train.momentum)
                       .nesterov(train.nesterov)
                       .weight_decay(train.weight_decay);
    return std::make_unique<torch::optim::SGD>(groups(options), options);
  }
  auto options = torch::optim::AdamOptions(train.lr).weight_decay(train.weight_decay);
  return std::make_unique<FusedAdam>(groups(options), options);
}

torch::Tensor FusedAdam::step(LossClosure closure) {
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode grad(true);
    loss = closure();
  }
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    auto& options = static_cast<torch::optim::AdamOptions&>(group.options());
    if (options.amsgrad()) return torch::optim::Adam::step();
    // One kernel call per (device, dtype): the fused kernel wants them alike.
    std::map<std::pair<std::string, c10::ScalarType>, std::array<std::vector<torch::Tensor>, 5>> calls;
    for (auto& parameter : group.params()) {
      if (!parameter.grad().defined()) continue;
      const void* key = parameter.unsafeGetTensorImpl();
      auto& slot = state_[parameter.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(parameter, at::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(parameter, at::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      state.step(state.step() + 1);
      auto& [count, counted] = step_tensors_[key];
      // Kept on the device and advanced in place; rebuilt when the state was loaded anew.
      if (!count.defined() || count.device() != parameter.device() || counted != state.step() - 1)
        count = torch::full({}, static_cast<double>(state.step()),
                            torch::dtype(torch::kFloat).device(parameter.device()));
      else
        count.add_(1);
      counted = state.step();
      auto& call = calls[{parameter.device().str(), parameter.scalar_type()}];
      call[0].push_back(parameter);
      call[1].push_back(parameter.grad());
      call[2].push_back(state.exp_avg());
      call[3].push_back(state.exp_avg_sq());
      call[4].push_back(count);
    }
    const auto [beta1, beta2] = options.betas();
    for (auto& [where, call] : calls)
      at::_fused_adam_(call[0], call[1], call[2], call[3], {}, call[4], options.lr(), beta1, beta2,
                       options.weight_decay(), options.eps(), /*amsgrad=*/false, /*maximize=*/false);
  }
  return loss;
}

double lr_factor(const TrainOptions& train, int epoch) {
  double factor = 1.0;
  if (epoch < train.warmup_epochs) {
    const double progress = static_cast<double>(epoch) / train.warmup_epochs;
    factor = train.warmup_factor * (1.0 - progress) + progress;
  } else if (train.schedule == ScheduleKind::cosine) {
    const double span = std::max(1, train.max_epoch - train.warmup_epochs);
    return 0.5 * (1.0 + std::cos(std::numbers::pi * (epoch - train.warmup_epochs) / span));
  }
  if (train.schedule == ScheduleKind::multistep)
    for (int milestone : train.milestones)
      if (epoch >= milestone) factor *= train.gamma;
  return factor;
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

AutocastScope::AutocastScope(torch::Device device, AmpMode mode)
    : device_type_(device.type()), previous_dtype_(at::autocast::get_autocast_dtype(device_type_)) {
  if (mode == AmpMode::off) return;
  enabled_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  at::autocast::set_autocast_dtype(device_type_,
                                   mode == AmpMode::bf16 ? at::kBFloat16 : at::kHalf);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, was_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

GradScaler::GradScaler(bool enabled, torch::Device device) : enabled_(enabled) {
  if (!enabled_) return;
  scale_ = torch::full({1}, 65536.0, torch::dtype(torch::kFloat).device(device));
  growth_tracker_ = torch::zeros({1}, torch::dtype(torch::kInt).device(device));
  found_inf_ = torch::zeros({1}, torch::dtype(torch::kFloat).device(device));
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  return enabled_ ? loss * scale_.to(loss.scalar_type()) : loss;
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return true;
  found_inf_.zero_();
  std::vector<torch::Tensor> grads;
  for (const auto& parameter : parameters)
    if (parameter.grad().defined()) grads.push_back(parameter.grad());
  const auto inv_scale = scale_.to(torch::kDouble).reciprocal().to(torch::kFloat);
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv_scale);
  return found_inf_.item<float>() == 0.0F;
}

void GradScaler::update() {
  if (enabled_) at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, 2.0, 0.5, 2000);
}

std::vector<std::pair<std::string, torch::Tensor>> GradScaler::state() const {
  if (!enabled_) return {};
  return {{"amp.scale", scale_}, {"amp.growth_tracker", growth_tracker_}};
}

}  // namespace fgreid::engine
