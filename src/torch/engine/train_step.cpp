#include <fgreid/engine/train_step.hpp>
#include <fgreid/engine/cuda_graph.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

namespace fgreid::engine {

namespace {
losses::LossResult detached(losses::LossResult result) {
  result.total = result.total.detach();
  for (auto& [name, value] : result.terms) value = value.detach();
  return result;
}

}  // namespace

/// The capture and its static buffers. Every step of a graph run, eager ones too, runs on the
/// graph's stream.
struct TrainStep::Graph {
  explicit Graph(torch::Device device) : graph(device) {}
  CudaGraph graph;
  int eager_left = eager_steps_before_capture;
  bool gave_up = false, told_shape = false;
  torch::Tensor images, labels;  ///< what the graph reads: each batch is copied in
  losses::LossResult result;     ///< what the graph writes
};

TrainStep::TrainStep(StepParts parts, torch::Device device, StepSettings settings, LossOf loss_of,
                     AfterBackward after_backward)
    : parts_(parts),
      device_(device),
      settings_(settings),
      loss_of_(std::move(loss_of)),
      after_backward_(std::move(after_backward)),
      scaled_parameters_(parts.model.parameters()) {
  for (auto& own : parts.loss.own_parameters()) scaled_parameters_.push_back(own);
  if (!loss_of_) loss_of_ = [&loss = parts_.loss](const auto& output, const auto& labels) { return loss(output, labels); };
  if (!settings_.cuda_graphs || !device_.is_cuda()) return;
  if (CudaGraph::available())
    graph_ = std::make_unique<Graph>(device_);
  else
    fmt::print(stderr, "[fgreid] --cuda-graphs: this build has no CUDA headers; the step runs eagerly\n");
}

TrainStep::~TrainStep() = default;

bool TrainStep::captured() const { return graph_ && graph_->graph.captured(); }

losses::LossResult TrainStep::run(const torch::Tensor& images, const torch::Tensor& labels, bool capturing) {
  const auto input = settings_.channels_last && images.dim() == 4
                         ? images.contiguous(at::MemoryFormat::ChannelsLast)
                         : images;
  parts_.optimizer.zero_grad();
  losses::LossResult result;
  {
    AutocastScope autocast(device_, settings_.amp, /*cache=*/!capturing);
    result = loss_of_(parts_.model.forward_train(input), labels);
  }
  parts_.scaler.scale(result.total).backward();
  if (after_backward_) after_backward_();
  parts_.scaler.unscale(scaled_parameters_);
  parts_.optimizer.step(parts_.scaler.skip());
  parts_.loss.step(parts_.scaler.skip());
  parts_.scaler.update();
  return detached(std::move(result));
}

losses::LossResult TrainStep::operator()(const torch::Tensor& images, const torch::Tensor& labels) {
  if (!graph_ || graph_->gave_up) return run(images, labels, /*capturing=*/false);
  losses::LossResult result;
  graph_->graph.on_own_stream([&] { result = on_graph_stream(images, labels); });
  return result;
}

losses::LossResult TrainStep::on_graph_stream(const torch::Tensor& images, const torch::Tensor& labels) {
  auto& graph = *graph_;
  if (graph.graph.captured()) {
    if (CudaGraph::fits(graph.images, images) && CudaGraph::fits(graph.labels, labels)) {
      graph.images.copy_(images, /*non_blocking=*/true);
      graph.labels.copy_(labels, /*non_blocking=*/true);
      graph.graph.replay();
      return graph.result;
    }
    if (!graph.told_shape)
      fmt::print(stderr, "[fgreid] --cuda-graphs: a batch of shape {} is not the captured {}; such "
                 "batches run eagerly\n", fmt::join(images.sizes(), "x"), fmt::join(graph.images.sizes(), "x"));
    graph.told_shape = true;
    return run(images, labels, /*capturing=*/false);
  }
  if (graph.eager_left > 0) {
    --graph.eager_left;
    return run(images, labels, /*capturing=*/false);
  }
  return capture(images, labels);
}

losses::LossResult TrainStep::capture(const torch::Tensor& images, const torch::Tensor& labels) {
  auto& graph = *graph_;
  graph.images = images.clone();
  graph.labels = labels.clone();
  if (const auto failure = graph.graph.capture([&] { graph.result = run(graph.images, graph.labels, /*capturing=*/true); })) {
    fmt::print(stderr, "[fgreid] --cuda-graphs: the step cannot be captured ({}); it runs eagerly\n", *failure);
    graph.gave_up = true;
    return run(images, labels, /*capturing=*/false);
  }
  graph.graph.replay();
  fmt::print(stderr, "[fgreid] --cuda-graphs: the training step is captured; each step replays it\n");
  return graph.result;
}

}  // namespace fgreid::engine
