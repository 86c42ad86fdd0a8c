#pragma once
// The loss concepts. No LibTorch here: the concepts name the tensor and result types; a
// recipe's translation unit, which has them (losses/result.hpp), checks.
#include <fgreid/losses/context.hpp>
#include <fgreid/policy.hpp>

#include <concepts>
#include <vector>

namespace at {
class Tensor;
}  // namespace at
namespace c10 {
struct Device;
}  // namespace c10
namespace fgreid::models {
struct TrainOutput;  // models/module.hpp
}  // namespace fgreid::models
namespace fgreid::losses {
struct LossResult;  // losses/result.hpp
}  // namespace fgreid::losses

namespace fgreid {

/// @brief A concept matching loss policies.
/// Satisfied by types built from (Options, LossContext) that map a model's TrainOutput and
/// the batch's identity labels to a LossResult. A composite (`losses::Losses<...>`) is one.
template <class L>
concept Loss = Policy<L> && std::constructible_from<L, typename L::Options, losses::LossContext> &&
  requires(L loss, const models::TrainOutput& output, const at::Tensor& labels) {
    { loss(output, labels) } -> std::same_as<losses::LossResult>;
  };

namespace losses {

/// @brief A concept matching losses that train parameters of their own with their own
/// optimiser, stepped after the model's (the engine neither gives them to the model's
/// optimiser nor applies its weight decay to them).
/// Satisfied by CenterLoss (losses/center.hpp).
template <class L>
concept OwnOptimizerLoss = requires(L loss, const L& const_loss, c10::Device device, const at::Tensor& skip) {
  // what the optimiser trains
  { const_loss.parameters() } -> std::same_as<std::vector<at::Tensor>>;
  // the optimiser itself, without waiting for the device: nothing when `skip` (the fp16
  // scaler's found-inf flag, or undefined) is nonzero
  loss.step(skip);
  loss.to(device);
};

/// @brief A concept matching losses that keep class centers [classes, D] in the features'
/// space: checkpoints keep them ("loss.centers") and --plot-centers draws them.
/// Satisfied by CenterLoss.
template <class L>
concept ClassCenterLoss = OwnOptimizerLoss<L> && requires(const L& loss) {
  { loss.centers() } -> std::convertible_to<const at::Tensor&>;
};

}  // namespace losses

}  // namespace fgreid
