// The training step (engine::TrainStep): against a hand-written step with LibTorch's own
// optimiser, its fp16 skip on the device, and on CUDA its graph against the eager step.
#include <fgreid/detail/policy_adapters.hpp>
#include <fgreid/engine/train_step.hpp>
#include <fgreid/eval/features.hpp>
#include <fgreid/losses/fgreid_objective.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <vector>

namespace {

namespace engine = fgreid::engine;
namespace losses = fgreid::losses;
namespace models = fgreid::models;
using Objective = losses::FGReIDObjective;

constexpr std::int64_t kClasses = 10, kP = 4, kK = 4;

/// Two classifier branches over a small convolutional trunk: what the seed's objective reads.
/// (No bias before BatchNorm, as in a ResNet: its gradient is rounding noise, which Adam would
/// turn into full-size steps that differ between any two implementations.)
class TinyReidImpl : public models::ReidModuleImpl {
 public:
  TinyReidImpl()
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 16, 3).padding(1).bias(false)))),
        norm(register_module("norm", torch::nn::BatchNorm2d(16))),
        neck(register_module("neck", torch::nn::BatchNorm1d(16))),
        first(register_module("first", torch::nn::Linear(16, kClasses))),
        second(register_module("second", torch::nn::Linear(16, kClasses))) {}
  models::TrainOutput forward_train(const torch::Tensor& images) override {
    const auto embedding = torch::relu(norm(conv(images))).mean({2, 3});
    const auto features = neck(embedding);
    return {{first(features), second(features)}, embedding, features, {}};
  }
  torch::Tensor forward(const torch::Tensor& images) override { return forward_train(images).features; }
  std::int64_t feature_dim() const override { return 16; }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> trunks() override { return {}; }

  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d norm;
  torch::nn::BatchNorm1d neck;
  torch::nn::Linear first, second;
};
TORCH_MODULE(TinyReid);

/// A model, the seed's objective and their optimisers, built alike from one seed.
struct Run {
  explicit Run(torch::Device device, const engine::TrainOptions& train, bool fp16 = false) {
    torch::manual_seed(11);
    model = TinyReid();
    model->to(device);
    loss = std::make_unique<fgreid::detail::LossAdapter<Objective>>(Objective::Options{},
                                                                     losses::LossContext{kClasses, 16});
    loss->to(device);
    optimizer = std::make_unique<engine::ModelOptimizer>(*model, train);
    scaler = std::make_unique<engine::GradScaler>(fp16, device);
    model->train();
  }
  engine::StepParts parts() { return {*model, *loss, *optimizer, *scaler}; }

  TinyReid model{nullptr};
  std::unique_ptr<engine::TrainingLoss> loss;
  std::unique_ptr<engine::ModelOptimizer> optimizer;
  std::unique_ptr<engine::GradScaler> scaler;
};

/// Batch `i`: P identities × K images, drawn from `i` alone.
std::pair<torch::Tensor, torch::Tensor> batch(int i, torch::Device device) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1000 + i);
  auto images = at::randn({kP * kK, 3, 16, 8}, generator);
  auto labels = at::randperm(kClasses, generator, torch::kLong).slice(0, 0, kP).repeat_interleave(kK);
  return {images.to(device), labels.to(device)};
}

}  // namespace

TEST_CASE("a TrainStep is the hand-written step: LibTorch's Adam, the centers' own SGD") {
  engine::TrainOptions train;
  train.lr = 3e-3;
  Run stepped(torch::kCPU, train), reference(torch::kCPU, train);
  // --cuda-graphs is ignored off CUDA.
  engine::TrainStep step(stepped.parts(), torch::kCPU, {.cuda_graphs = true});
  torch::optim::Adam adam(reference.model->parameters(),
                          torch::optim::AdamOptions(train.lr).weight_decay(train.weight_decay));
  const auto centers = reference.loss->centers();
  for (int i = 0; i < 5; ++i) {
    CAPTURE(i);
    if (i == 3) {  // a new learning rate reaches the step's device tensor
      stepped.optimizer->set_learning_rate(train.lr / 10);
      for (auto& group : adam.param_groups()) group.options().set_lr(train.lr / 10);
    }
    const auto [images, labels] = batch(i, torch::kCPU);
    const auto result = step(images, labels);
    CHECK_FALSE(step.captured());

    adam.zero_grad();
    auto expected = (*reference.loss)(reference.model->forward_train(images), labels);
    expected.total.backward();
    adam.step();
    {
      torch::NoGradGuard no_grad;  // CenterLoss's defaults: lr 0.5, gradient ×1/0.0005
      centers.sub_(centers.grad(), 0.5 / 0.0005);
      centers.mutable_grad().zero_();
    }
    CHECK(result.total.item<double>() == doctest::Approx(expected.total.item<double>()).epsilon(1e-5));
    CHECK_FALSE(result.total.requires_grad());
  }
  const auto got = stepped.model->parameters(), want = reference.model->parameters();
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("parameter ", i, ": largest difference ", (got[i] - want[i]).abs().max().item<double>(), " of values up to ",
         want[i].abs().max().item<double>());
    CHECK(torch::allclose(got[i], want[i], 1e-4, 1e-6));
  }
  CHECK(torch::allclose(stepped.loss->centers(), centers, 1e-4, 1e-6));
}

TEST_CASE("a step whose scaled gradients are not finite changes nothing, without asking the device") {
  engine::TrainOptions train;
  Run run(torch::kCPU, train, /*fp16=*/true);
  engine::TrainStep step(run.parts(), torch::kCPU, {});
  auto [images, labels] = batch(0, torch::kCPU);
  step(images, labels);
  std::vector<torch::Tensor> before;
  for (const auto& parameter : run.model->parameters()) before.push_back(parameter.clone());
  const auto centers = run.loss->centers().clone();
  const float scale = run.scaler->state()[0].second.item<float>();

  images[0][0][0][0] = INFINITY;
  step(images, labels);
  CHECK(run.scaler->skip().item<float>() != 0.0F);
  const auto after = run.model->parameters();
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(torch::equal(after[i], before[i]));
  CHECK(torch::equal(run.loss->centers(), centers));
  CHECK(run.scaler->state()[0].second.item<float>() == scale / 2);
  run.optimizer->sync_state();
  const auto& state = static_cast<const torch::optim::AdamParamState&>(
      *run.optimizer->torch_optimizer().state().at(run.model->conv->weight.unsafeGetTensorImpl()));
  CHECK(state.step() == 1);
}

namespace {
/// `steps` steps, eager or through a graph, from one seed; the losses and the final weights.
std::pair<std::vector<double>, std::vector<torch::Tensor>> train_on_cuda(const engine::TrainOptions& train, bool fp16,
                                                                         bool graphs, int steps) {
  const torch::Device cuda(torch::kCUDA);
  Run run(cuda, train, fp16);
  engine::TrainStep step(run.parts(), cuda,
                         {.amp = fp16 ? engine::AmpMode::fp16 : engine::AmpMode::off, .cuda_graphs = graphs});
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) {
    if (i == steps / 2) run.optimizer->set_learning_rate(train.lr / 10);
    const auto [images, labels] = batch(i, cuda);
    losses.push_back(step(images, labels).total.item<double>());
  }
  CHECK(step.captured() == graphs);
  std::vector<torch::Tensor> weights;
  for (const auto& parameter : run.model->parameters()) weights.push_back(parameter.cpu());
  weights.push_back(run.loss->centers().cpu());
  return {losses, weights};
}
}  // namespace

TEST_CASE("on CUDA the captured step gives the eager step's losses, over hundreds of steps" *
          doctest::skip(!torch::cuda::is_available())) {
  fgreid::eval::ReproducibleKernels deterministic;
  for (const auto kind : {engine::OptimizerKind::adam, engine::OptimizerKind::sgd}) {
    for (const bool fp16 : {false, true}) {
      INFO("sgd ", kind == engine::OptimizerKind::sgd, " fp16 ", fp16);
      engine::TrainOptions train;
      train.optimizer = kind;
      train.lr = kind == engine::OptimizerKind::adam ? 3e-4 : 1e-2;
      const auto [eager_losses, eager_weights] = train_on_cuda(train, fp16, false, 300);
      const auto [graph_losses, graph_weights] = train_on_cuda(train, fp16, true, 300);
      for (std::size_t i = 0; i < eager_losses.size(); ++i) {
        INFO("step ", i);
        REQUIRE(std::isfinite(graph_losses[i]));
        CHECK(graph_losses[i] == doctest::Approx(eager_losses[i]).epsilon(1e-4));
      }
      for (std::size_t i = 0; i < eager_weights.size(); ++i) {
        INFO("tensor ", i);
        CHECK(torch::allclose(graph_weights[i], eager_weights[i], 1e-3, 1e-5));
      }
    }
  }
}
