#pragma once
// GPU work captured once as a CUDA graph and replayed: one launch where eager LibTorch makes a
// few thousand. The training step (train_step.hpp) and extraction's forward (eval/features.hpp)
// capture themselves through it. The work runs on a stream of its own (a capture cannot use the
// default stream), ordered after what the caller's stream has queued and before what it queues
// next, so the caller sees an ordinary stream-ordered call.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace fgreid::engine {

class CudaGraph {
 public:
  /// Whether this build can capture: it was compiled with the CUDA runtime's headers.
  [[nodiscard]] static bool available();

  /// A graph for CUDA `device`; std::logic_error when !available().
  explicit CudaGraph(torch::Device device);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  /// Runs `work` (eager steps, capture() and replay()) on the graph's stream, between the
  /// caller's stream's queued work and its next.
  void on_own_stream(const std::function<void()>& work);

  /// Captures `work`, which must read and write only tensors that outlive the graph (its static
  /// buffers) and must not wait for the device; call inside on_own_stream after a few eager
  /// runs of the same work. Capture records, it does not compute: replay() for the results.
  /// Returns LibTorch's reason in a sentence when the capture fails; nothing is captured then.
  [[nodiscard]] std::optional<std::string> capture(const std::function<void()>& work);

  /// Launches the captured work again on the graph's stream (inside on_own_stream).
  void replay();

  [[nodiscard]] bool captured() const;

  /// Whether `batch` can be copied into the graph's static `buffer`: a replay reads tensors of
  /// the captured sizes and type only.
  [[nodiscard]] static bool fits(const torch::Tensor& buffer, const torch::Tensor& batch) {
    return buffer.defined() && buffer.sizes() == batch.sizes() && buffer.scalar_type() == batch.scalar_type();
  }

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace fgreid::engine
