#pragma once
// DistributedDataParallel's gradient averaging, on c10d. The parameters are cut into buckets of
// about --bucket-mb, in reverse order (backward produces the last layers' gradients first). A
// hook on each parameter copies its gradient into its bucket, and a bucket is all-reduced as
// soon as it is full, while backward goes on with the layers before it. Every rank launches the
// buckets in the same order, whatever order its hooks fire in.
#include <fgreid/dist/world.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace fgreid::dist {

class GradientAverager {
 public:
  GradientAverager(const World& world, std::vector<torch::Tensor> parameters, std::int64_t bucket_bytes);
  ~GradientAverager();
  GradientAverager(const GradientAverager&) = delete;
  GradientAverager& operator=(const GradientAverager&) = delete;

  /// After backward: launches what backward left (buckets holding a parameter without a
  /// gradient), waits for every bucket, and sets each parameter's gradient to the mean over the
  /// ranks; a parameter no rank had a gradient for keeps none, as in one process.
  void finish();

  /// What the last step reduced: bytes all-reduced, and how many buckets went out while
  /// backward was still running.
  struct Traffic {
    std::int64_t bytes = 0;
    int buckets = 0;
    int launched_during_backward = 0;
  };
  [[nodiscard]] Traffic traffic() const { return traffic_; }
  [[nodiscard]] int bucket_count() const { return static_cast<int>(buckets_.size()); }

 private:
  struct Slot {
    torch::Tensor parameter;
    std::int64_t offset = 0;  ///< into its bucket's values
    std::size_t bucket = 0;
    bool has_gradient = false;
  };
  struct Bucket {
    torch::Tensor values;  ///< the gradients, then one 0/1 flag per parameter (had a gradient)
    std::vector<std::size_t> slots;
    std::size_t filled = 0;
    Pending pending;
  };
  void receive(std::size_t slot, const torch::Tensor& gradient);
  void launch_ready();
  void launch(Bucket& bucket);

  const World& world_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hooks_;
  std::size_t next_launch_ = 0;
  bool in_backward_ = false;
  Traffic traffic_;
};

}  // namespace fgreid::dist
