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

ModelOptimizer::ModelOptimizer(torch::nn::Module& model, const TrainOptions& train)
    : kind_(train.optimizer) {
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
  if (kind_ == OptimizerKind::sgd) {
    auto options = torch::optim::SGDOptions(train.lr)
                       .momentum(train.momentum)
                       .nesterov(train.nesterov)
                       .weight_decay(train.weight_decay);
    optimizer_ = std::make_unique<torch::optim::SGD>(groups(options), options);
  } else {
    auto options = torch::optim::AdamOptions(train.lr).weight_decay(train.weight_decay);
    optimizer_ = std::make_unique<torch::optim::Adam>(groups(options), options);
  }
}

void ModelOptimizer::set_learning_rate(double lr) {
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  if (lr_.defined()) lr_.fill_(lr);
}

void ModelOptimizer::step(const torch::Tensor& skip) {
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer_->param_groups()) {
    if (group.params().empty()) continue;
    if (!lr_.defined())
      lr_ = torch::full({}, group.options().get_lr(), torch::dtype(torch::kFloat).device(group.params()[0].device()));
    if (kind_ == OptimizerKind::sgd) sgd_step(group, skip);
    else adam_step(group, skip);
  }
}

namespace {
/// The parameters of `group` that have a gradient, grouped by (device, dtype): a fused kernel
/// wants them alike.
template <class Each>
void for_each_kernel_call(torch::optim::OptimizerParamGroup& group, Each&& each) {
  std::map<std::pair<std::string, c10::ScalarType>, std::vector<torch::Tensor>> calls;
  for (auto& parameter : group.params())
    if (parameter.grad().defined())
      calls[{parameter.device().str(), parameter.scalar_type()}].push_back(parameter);
  for (auto& [where, parameters] : calls) each(parameters);
}

std::vector<torch::Tensor> gradients(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> out;
  for (const auto& parameter : parameters) out.push_back(parameter.grad());
  return out;
}

std::optional<torch::Tensor> optional(const torch::Tensor& tensor) {
  return tensor.defined() ? std::optional(tensor) : std::nullopt;
}
}  // namespace

void ModelOptimizer::adam_step(torch::optim::OptimizerParamGroup& group, const torch::Tensor& skip) {
  auto& options = static_cast<torch::optim::AdamOptions&>(group.options());
  const auto [beta1, beta2] = options.betas();
  for_each_kernel_call(group, [&](const std::vector<torch::Tensor>& parameters) {
    std::vector<torch::Tensor> exp_avgs, exp_avg_sqs, counts;
    for (const auto& parameter : parameters) {
      auto& slot = optimizer_->state()[parameter.unsafeGetTensorImpl()];
      if (!slot) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(parameter, at::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(parameter, at::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*slot);
      auto& count = counts_[parameter.unsafeGetTensorImpl()];
      if (!count.defined())
        count = torch::full({}, static_cast<double>(state.step()),
                            torch::dtype(torch::kFloat).device(parameter.device()));
      exp_avgs.push_back(state.exp_avg());
      exp_avg_sqs.push_back(state.exp_avg_sq());
      counts.push_back(count);
    }
    // The kernel reads the count after this step; a skipped step leaves it where it was.
    if (skip.defined()) at::_foreach_add_(counts, (1 - skip).reshape({}));
    else at::_foreach_add_(counts, 1);
    at::_fused_adam_(parameters, gradients(parameters), exp_avgs, exp_avg_sqs, {}, counts,
                     lr_, beta1, beta2, options.weight_decay(), options.eps(),
                     /*amsgrad=*/false, /*maximize=*/false, /*grad_scale=*/std::nullopt, optional(skip));
  });
}

void ModelOptimizer::sgd_step(torch::optim::OptimizerParamGroup& group, const torch::Tensor& skip) {
  auto& options = static_cast<torch::optim::SGDOptions&>(group.options());
  for_each_kernel_call(group, [&](const std::vector<torch::Tensor>& parameters) {
    std::vector<torch::Tensor> buffers;
    bool first_step = false;
    if (options.momentum() != 0.0) {
      for (const auto& parameter : parameters) {
        auto& slot = optimizer_->state()[parameter.unsafeGetTensorImpl()];
        if (!slot) {  // the kernel's first step copies the gradient in, as LibTorch's SGD does
          auto fresh = std::make_unique<torch::optim::SGDParamState>();
          fresh->momentum_buffer(torch::empty_like(parameter, at::MemoryFormat::Preserve));
          slot = std::move(fresh);
          first_step = true;
        }
        buffers.push_back(static_cast<torch::optim::SGDParamState&>(*slot).momentum_buffer());
      }
    }
    at::_fused_sgd_(parameters, gradients(parameters), buffers, options.weight_decay(), options.momentum(),
                    lr_, options.dampening(), options.nesterov(),
                    /*maximize=*/false, first_step, /*grad_scale=*/std::nullopt, optional(skip));
  });
}

void ModelOptimizer::sync_state() {
  if (counts_.empty()) return;
  std::vector<void*> keys;
  std::vector<torch::Tensor> counts;
  for (auto& [key, count] : counts_) {
    keys.push_back(key);
    counts.push_back(count);
  }
  const auto host = torch::stack(counts).to(torch::kCPU, torch::kDouble);  // one wait for the device
  const auto* values = host.data_ptr<double>();
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (auto& slot = optimizer_->state()[keys[i]])
      static_cast<torch::optim::AdamParamState&>(*slot).step(std::llround(values[i]));
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

AutocastScope::AutocastScope(torch::Device device, AmpMode mode, bool cache)
    : device_type_(device.type()), previous_dtype_(at::autocast::get_autocast_dtype(device_type_)) {
  if (mode == AmpMode::off) return;
  enabled_ = true;
  was_caching_ = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(cache);
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
  at::autocast::set_autocast_cache_enabled(was_caching_);
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

void GradScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return;
  found_inf_.zero_();
  std::vector<torch::Tensor> grads;
  for (const auto& parameter : parameters)
    if (parameter.grad().defined()) grads.push_back(parameter.grad());
  const auto inv_scale = scale_.to(torch::kDouble).reciprocal().to(torch::kFloat);
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv_scale);
}

void GradScaler::update() {
  if (enabled_) at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, 2.0, 0.5, 2000);
}

std::vector<std::pair<std::string, torch::Tensor>> GradScaler::state() const {
  if (!enabled_) return {};
  return {{"amp.scale", scale_}, {"amp.growth_tracker", growth_tracker_}};
}

}  // namespace fgreid::engine
