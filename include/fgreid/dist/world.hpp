#pragma once
// The ranks of a data-parallel run and the few collectives the engine needs, on LibTorch's c10d:
// torchrun's rendezvous through a TCPStore, then ProcessGroupNCCL for CUDA tensors or
// ProcessGroupGloo for CPU ones. A process started on its own is a world of one, where every
// collective leaves its tensors as they are. c10d's headers stay in src/torch/dist.
#include <fgreid/dist/launch.hpp>
#include <fgreid/engine/options.hpp>

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fgreid::dist {

/// A collective on its way; wait() blocks until its tensors hold the result (or throws the
/// backend's error: a rank that died, a timeout).
class Pending {
 public:
  Pending() = default;
  explicit Pending(std::function<void()> wait) : wait_(std::move(wait)) {}
  void wait() {
    if (wait_) std::exchange(wait_, {})();
  }

 private:
  std::function<void()> wait_;
};

class World {
 public:
  /// A process on its own.
  World() = default;

  /// Joins the ranks torchrun started: rendezvous at MASTER_ADDR:MASTER_PORT, then the group of
  /// `backend` (auto: NCCL for a CUDA `device`, Gloo otherwise). Collectives that wait longer
  /// than `timeout` for the others fail.
  static World join(const Launch& launch, engine::DistBackend backend, torch::Device device,
                    std::chrono::seconds timeout);

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] int local_rank() const { return local_rank_; }
  /// Started by torchrun (a process group exists, even of one rank).
  [[nodiscard]] bool distributed() const { return static_cast<bool>(group_); }
  /// Rank 0: the one that writes checkpoints, logs and pictures.
  [[nodiscard]] bool is_main() const { return rank_ == 0; }
  [[nodiscard]] std::string backend_name() const;

  /// Sums `tensor` over the ranks, in place, without waiting.
  [[nodiscard]] Pending all_reduce_sum_async(torch::Tensor tensor) const;
  void all_reduce_sum(torch::Tensor tensor) const { all_reduce_sum_async(std::move(tensor)).wait(); }
  /// Rank 0's values into every rank's `tensors`, in place.
  void broadcast(std::vector<torch::Tensor> tensors) const;
  /// Every rank's `local` (the same shape on each), concatenated along dim 0 in rank order.
  [[nodiscard]] torch::Tensor all_gather(const torch::Tensor& local) const;

  /// Agreeing on when to stop through the rendezvous store, with no collective on the device: a
  /// rank that got a signal after `iteration` proposes iteration + 1, which no rank can have
  /// passed (each step's all-reduce waits for every rank); the first proposal wins. Returns the
  /// iteration after which every rank stops.
  [[nodiscard]] std::int64_t propose_stop(std::int64_t iteration) const;
  /// The agreed iteration, or -1 while no rank has proposed.
  [[nodiscard]] std::int64_t agreed_stop() const;

  /// This rank's block [begin, end) of `count` items split into contiguous shares, the first
  /// `count % size` ranks taking one more.
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> share(std::int64_t count) const;
  /// The rows every rank computed for its share() of `count`, in order: [count, ...].
  [[nodiscard]] torch::Tensor gather_shares(const torch::Tensor& local, std::int64_t count) const;

  struct Group;

 private:
  std::shared_ptr<Group> group_;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
};

/// The world of this process, which the engine sets once it has joined torchrun's ranks: the
/// modules that look across ranks (SyncBatchNorm, the gathered loss) read it.
[[nodiscard]] const World& world();
void set_world(World world);

}  // namespace fgreid::dist
