#include <fgreid/engine/cuda_graph.hpp>
#include <fgreid/error.hpp>

#ifdef FGREID_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <stdexcept>

namespace fgreid::engine {

namespace {
/// What LibTorch says (without its backtrace) or any other error's message, in a sentence.
[[maybe_unused]] std::string reason(const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  return library_reason(torch_error ? torch_error->what_without_backtrace() : error.what());
}
}  // namespace

#ifdef FGREID_HAVE_CUDA
struct CudaGraph::State {
  explicit State(torch::Device device)
      : device(device), stream(c10::cuda::getStreamFromPool(false, device.index())) {}
  torch::Device device;
  c10::cuda::CUDAStream stream;
  std::unique_ptr<at::cuda::CUDAGraph> graph;  ///< once captured
};

bool CudaGraph::available() { return true; }

CudaGraph::CudaGraph(torch::Device device) : state_(std::make_unique<State>(device)) {
  if (!device.is_cuda()) throw std::logic_error("CudaGraph: not a CUDA device");
}

void CudaGraph::on_own_stream(const std::function<void()>& work) {
  const auto caller = c10::cuda::getCurrentCUDAStream(state_->device.index());
  at::cuda::CUDAEvent queued, done;
  queued.record(caller);
  queued.block(state_->stream);
  {
    c10::cuda::CUDAStreamGuard guard(state_->stream);
    work();
  }
  done.record(state_->stream);
  done.block(caller);
}

std::optional<std::string> CudaGraph::capture(const std::function<void()>& work) {
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  torch::cuda::synchronize(state_->device.index());
  try {
    // Thread-local: the loader's workers may pin memory meanwhile, which a global capture forbids.
    graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
      work();
    } catch (...) {
      try {
        graph->capture_end();
      } catch (...) {  // the capture is broken already; the first error says why
      }
      throw;
    }
    graph->capture_end();
  } catch (const std::exception& error) {
    return reason(error);
  }
  state_->graph = std::move(graph);
  return std::nullopt;
}

void CudaGraph::replay() {
  if (!state_->graph) throw std::logic_error("CudaGraph::replay before a capture");
  state_->graph->replay();
}

bool CudaGraph::captured() const { return state_->graph != nullptr; }

#else
struct CudaGraph::State {};

bool CudaGraph::available() { return false; }

CudaGraph::CudaGraph(torch::Device) {
  throw std::logic_error("CudaGraph: this build has no CUDA headers");
}

void CudaGraph::on_own_stream(const std::function<void()>& work) { work(); }

std::optional<std::string> CudaGraph::capture(const std::function<void()>&) {
  return "this build has no CUDA headers";
}

void CudaGraph::replay() { throw std::logic_error("CudaGraph::replay before a capture"); }

bool CudaGraph::captured() const { return false; }
#endif

CudaGraph::~CudaGraph() = default;

}  // namespace fgreid::engine
