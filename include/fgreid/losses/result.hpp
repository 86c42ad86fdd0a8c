#pragma once
// What a loss reads (the model's TrainOutput) and gives back.
#include <fgreid/losses/context.hpp>
#include <fgreid/models/module.hpp>

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace fgreid::losses {

/// A loss's contribution: the weighted total that is back-propagated, and each term's
/// unweighted value under its name for the progress line and the log.
struct LossResult {
  torch::Tensor total;
  std::vector<std::pair<std::string, torch::Tensor>> terms;
};

}  // namespace fgreid::losses
