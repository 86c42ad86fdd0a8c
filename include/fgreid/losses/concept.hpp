#pragma once
#include <fgreid/models/module.hpp>
#include <fgreid/policy.hpp>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fgreid {

namespace losses {

/// A loss's contribution: the weighted total that is back-propagated, and each term's
/// unweighted value under its name for the progress line and the log.
struct LossResult {
  torch::Tensor total;
  std::vector<std::pair<std::string, torch::Tensor>> terms;
};

/// What a loss policy needs to know to build its state (e.g. class centers).
struct LossContext {
  std::int64_t num_classes = 0;
  std::int64_t feature_dim = 0;
};

}  // namespace losses

/// @brief A concept matching loss policies.
/// Satisfied by types built from (Options, LossContext) that map a model's TrainOutput and
/// the batch's identity labels to a LossResult. A composite (`losses::Losses<...>`) is one.
template <class L>
concept Loss = Policy<L> && std::constructible_from<L, typename L::Options, losses::LossContext> &&
  requires(L loss, const models::TrainOutput& output, const torch::Tensor& labels) {
    { loss(output, labels) } -> std::same_as<losses::LossResult>;
  };

namespace losses {

/// @brief A concept matching losses that train parameters of their own with their own
/// optimiser, stepped after the model's (the engine neither gives them to the model's
/// optimiser nor applies its weight decay to them).
/// Satisfied by CenterLoss (losses/center.hpp).
template <class L>
concept OwnOptimizerLoss = requires(L loss, const L& const_loss, torch::Device device) {
  // what the optimiser trains
  { const_loss.parameters() } -> std::same_as<std::vector<torch::Tensor>>;
  // the optimiser itself
  loss.step();
  loss.to(device);
};

namespace detail {
template <class L>
concept HasPartTuple = requires(L loss) { std::get<0>(loss.parts()); };
}  // namespace detail

/// Calls `visit(part)` for every part of `loss` (the loss itself, or each part of a composite
/// `Losses<...>`) that has its own optimiser:
///   losses::for_each_own_optimizer(loss, [&](auto& part) { part.to(device); });
///   ... total.backward(); model_optimizer.step();
///   losses::for_each_own_optimizer(loss, [](auto& part) { part.step(); });
template <class L, class Visit>
void for_each_own_optimizer(L& loss, Visit&& visit) {
  if constexpr (OwnOptimizerLoss<L>) {
    visit(loss);
  } else if constexpr (detail::HasPartTuple<L>) {
    std::apply([&](auto&... part) { (for_each_own_optimizer(part, visit), ...); }, loss.parts());
  }
}

}  // namespace losses

}  // namespace fgreid
