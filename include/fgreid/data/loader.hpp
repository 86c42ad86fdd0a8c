#pragma once
// Batches of decoded, transformed images, produced ahead of the training thread by worker
// threads into a bounded queue. The sampler is only ever called from the loader's own
// coordinator thread; a decoding error resurfaces from next() on the caller's thread.
#include <fgreid/datasets/splits.hpp>

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace fgreid::data {

/// How an image becomes a tensor: resize, (training) random horizontal flip, ImageNet
/// normalisation, CHW float.
struct ImageTransform {
  std::int64_t height = 256;
  std::int64_t width = 128;
  double flip_probability = 0.0;
};

/// Decodes `path` (OpenCV) and writes the transformed image into `out` [3, H, W] float.
/// Throws DataError naming the file when it is missing or cannot be decoded.
void load_image(const std::filesystem::path& path, const ImageTransform& transform,
                std::uint64_t seed, torch::Tensor out);

struct Batch {
  torch::Tensor images;  ///< [B, 3, H, W] float (pinned when the loader pins)
  torch::Tensor pids;    ///< [B] int64
  torch::Tensor camids;  ///< [B] int64
  std::vector<std::int64_t> indices;
};

/// Supplies the entry indices of each batch; nullopt ends the pass.
using BatchSource = std::function<std::optional<std::vector<std::int64_t>>()>;

/// Consecutive batches of `batch_size` over `count` entries (the last may be shorter).
BatchSource sequential_batches(std::int64_t count, std::int64_t batch_size);

struct LoaderOptions {
  int workers = 2;
  int prefetch = 4;        ///< batches kept ready ahead of the consumer
  bool pin_memory = false;
  std::uint64_t seed = 0;  ///< augmentation seed: batch b, item i draws from (seed, b, i)
};

class BatchLoader {
 public:
  BatchLoader(const std::vector<datasets::Entry>& entries, BatchSource source,
              ImageTransform transform, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// The next batch, or nullopt at the end of the pass. Rethrows a worker's error.
  std::optional<Batch> next();
  /// Seconds next() spent waiting for data so far (the training thread's data-wait).
  [[nodiscard]] double wait_seconds() const { return wait_seconds_; }

 private:
  void coordinate();
  void work();

  const std::vector<datasets::Entry>& entries_;
  BatchSource source_;
  ImageTransform transform_;
  LoaderOptions options_;

  std::mutex mutex_;
  std::condition_variable ready_, space_, jobs_ready_;
  std::deque<std::function<void()>> jobs_;
  std::deque<std::pair<Batch, std::exception_ptr>> done_;
  bool finished_ = false, stopping_ = false;
  double wait_seconds_ = 0;
  std::vector<std::jthread> workers_;
  std::jthread coordinator_;
};

}  // namespace fgreid::data
