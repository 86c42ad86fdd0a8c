#include <fgreid/engine/train_step.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#ifdef FGREID_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <string>

namespace fgreid::engine {

namespace {
losses::LossResult detached(losses::LossResult result) {
  result.total = result.total.detach();
  for (auto& [name, value] : result.terms) value = value.detach();
  return result;
}

bool same_shape(const torch::Tensor& a, const torch::Tensor& b) {
  return a.defined() && a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type();
}

/// What LibTorch says (without its backtrace) or any other error's message, in a sentence.
std::string reason(const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  return library_reason(torch_error ? torch_error->what_without_backtrace() : error.what());
}
}  // namespace

#ifdef FGREID_HAVE_CUDA
/// The capture, its stream and its static buffers. Every step of a graph run, eager ones too,
/// runs on its own stream (a capture cannot use the default one), ordered after the work already
/// queued on the caller's stream and before the caller's next.
struct TrainStep::Graph {
  explicit Graph(torch::Device device) : stream(c10::cuda::getStreamFromPool(false, device.index())) {}
  c10::cuda::CUDAStream stream;
  at::cuda::CUDAGraph graph;
  int eager_left = eager_steps_before_capture;
  bool captured = false, told_shape = false;
  torch::Tensor images, labels;  ///< what the graph reads: each batch is copied in
  losses::LossResult result;     ///< what the graph writes
};
#else
struct TrainStep::Graph {};
#endif

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
#ifdef FGREID_HAVE_CUDA
  graph_ = std::make_unique<Graph>(device_);
#else
  fmt::print(stderr, "[fgreid] --cuda-graphs: this build has no CUDA headers; the step runs eagerly\n");
#endif
}

TrainStep::~TrainStep() = default;

bool TrainStep::captured() const {
#ifdef FGREID_HAVE_CUDA
  return graph_ && graph_->captured;
#else
  return false;
#endif
}

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
  if (!graph_) return run(images, labels, /*capturing=*/false);
#ifdef FGREID_HAVE_CUDA
  const auto caller = c10::cuda::getCurrentCUDAStream(device_.index());
  const auto stream = graph_->stream;  // (a failed capture drops the graph, not its stream)
  at::cuda::CUDAEvent queued, done;
  queued.record(caller);
  queued.block(stream);
  losses::LossResult result;
  {
    c10::cuda::CUDAStreamGuard guard(stream);
    result = on_graph_stream(images, labels);
  }
  done.record(stream);
  done.block(caller);
  return result;
#else
  return run(images, labels, /*capturing=*/false);
#endif
}

#ifdef FGREID_HAVE_CUDA
losses::LossResult TrainStep::on_graph_stream(const torch::Tensor& images, const torch::Tensor& labels) {
  auto& graph = *graph_;
  if (graph.captured) {
    if (same_shape(graph.images, images) && same_shape(graph.labels, labels)) {
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
  torch::cuda::synchronize(device_.index());
  try {
    // Thread-local: the loader's workers may pin memory meanwhile, which a global capture forbids.
    graph.graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
      graph.result = run(graph.images, graph.labels, /*capturing=*/true);
    } catch (...) {
      try {
        graph.graph.capture_end();
      } catch (...) {  // the capture is broken already; the first error says why
      }
      throw;
    }
    graph.graph.capture_end();
  } catch (const std::exception& error) {
    fmt::print(stderr, "[fgreid] --cuda-graphs: the step cannot be captured ({}); it runs eagerly\n",
               reason(error));
    graph_.reset();
    return run(images, labels, /*capturing=*/false);
  }
  graph.graph.replay();
  graph.captured = true;
  fmt::print(stderr, "[fgreid] --cuda-graphs: the training step is captured; each step replays it\n");
  return graph.result;
}
#else
losses::LossResult TrainStep::on_graph_stream(const torch::Tensor& images, const torch::Tensor& labels) {
  return run(images, labels, /*capturing=*/false);
}

losses::LossResult TrainStep::capture(const torch::Tensor& images, const torch::Tensor& labels) {
  return run(images, labels, /*capturing=*/false);
}
#endif

}  // namespace fgreid::engine
