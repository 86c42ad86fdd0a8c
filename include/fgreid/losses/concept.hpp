#pragma once
#include <fgreid/models/module.hpp>
#include <fgreid/policy.hpp>

#include <string>
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

}  // namespace fgreid
