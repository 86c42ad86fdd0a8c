#pragma once
// How Experiment turns its policy types into the engine's interfaces (engine/parts.hpp): each
// capability a policy type has (a concept it satisfies) becomes the matching part.
#include <fgreid/engine/parts.hpp>
#include <fgreid/losses/concept.hpp>
#include <fgreid/losses/losses.hpp>
#include <fgreid/models/concept.hpp>
#include <fgreid/samplers/concept.hpp>

#include <memory>
#include <span>
#include <utility>

namespace fgreid::detail {

/// What the pictures can draw of a network, from the capabilities its type has, and of the
/// loss (its class centers).
template <class Net>
eval::PictureSources pictures_of(const std::shared_ptr<Net>& network, engine::TrainingLoss& loss) {
  eval::PictureSources pictures;
  if constexpr (models::AttentionNetwork<Net>) pictures.attention = eval::attention_view(*network);
  if constexpr (models::ClassifierNetwork<Net>)
    pictures.classifier_weight = [network] { return network->classifier_weight(); };
  pictures.centers = [&loss] { return loss.centers(); };
  return pictures;
}

/// A Loss policy (or composite) as the engine's TrainingLoss.
template <Loss L>
class LossAdapter final : public engine::TrainingLoss {
 public:
  LossAdapter(const typename L::Options& options, const losses::LossContext& context)
      : loss_(options, context) {}
  losses::LossResult operator()(const models::TrainOutput& output,
                                const torch::Tensor& labels) override {
    return loss_(output, labels);
  }
  std::vector<torch::Tensor> own_parameters() override {
    std::vector<torch::Tensor> out;
    losses::for_each_own_optimizer(loss_, [&](auto& part) {
      for (auto& tensor : part.parameters()) out.push_back(tensor);
    });
    return out;
  }
  void to(torch::Device device) override {
    losses::for_each_own_optimizer(loss_, [&](auto& part) { part.to(device); });
  }
  void step(const torch::Tensor& skip) override {
    losses::for_each_own_optimizer(loss_, [&](auto& part) { part.step(skip); });
  }
  engine::NamedTensors state() override {
    engine::NamedTensors out;
    if (auto kept = centers(); kept.defined()) out.emplace_back("loss.centers", kept);
    return out;
  }
  torch::Tensor centers() override {
    torch::Tensor kept;
    losses::for_each_own_optimizer(loss_, [&](auto& part) {
      if constexpr (losses::ClassCenterLoss<std::remove_cvref_t<decltype(part)>>)
        kept = part.centers();
    });
    return kept;
  }

 private:
  L loss_;
};

/// A Sampler policy as the engine's TrainingSampler.
template <Sampler S>
class SamplerAdapter final : public engine::TrainingSampler {
 public:
  SamplerAdapter(std::span<const std::int64_t> labels, const typename S::Options& options)
      : sampler_(labels, options) {}
  void reset(std::uint64_t seed) override { sampler_.reset(seed); }
  std::optional<std::vector<std::int64_t>> next() override { return sampler_.next(); }
  std::int64_t batches_per_epoch() const override { return sampler_.batches_per_epoch(); }
  samplers::FrameChooser train_frames() const override {
    if constexpr (VideoSampler<S>) return sampler_.clip_chooser();
    else return {};
  }
  samplers::ClipPlan test_clips() const override {
    if constexpr (VideoSampler<S>) return sampler_.test_clip_plan();
    else return {};
  }

 private:
  S sampler_;
};

}  // namespace fgreid::detail
