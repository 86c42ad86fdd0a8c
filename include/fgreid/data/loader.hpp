#pragma once
// Batches of decoded, transformed images (or clips of frames), produced ahead of the training
// thread by worker threads into a bounded queue of batches.
//
//   sampler ─▶ coordinator thread ─▶ one job per distinct file of a batch ─▶ workers:
//              (plans the batch,      decode once, transform into every      │
//               seeds, buffer)        slot of the batch that uses the file   ▼
//                                                                  ready batches, in order ─▶ next()
//
// The sampler and the frame chooser are only ever called from the coordinator thread; the
// training thread never decodes. A decoding error (corrupt or vanished file) is a DataError
// naming the file, rethrown by next() on the caller's thread. Every random draw of item i of
// batch b comes from (seed, b, i): a pass is the same for any worker count.
#include <fgreid/data/transforms.hpp>
#include <fgreid/datasets/splits.hpp>
#include <fgreid/samplers/options.hpp>

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace fgreid::data {

/// Decodes `path` (OpenCV) into 8-bit BGR. Throws DataError naming the file when it is
/// missing or cannot be decoded.
cv::Mat decode_image(const std::filesystem::path& path);

/// Decodes `path` and writes the transformed image into `out` [3, H, W] float.
/// Throws DataError naming the file when it is missing or cannot be decoded.
void load_image(const std::filesystem::path& path, const Pipeline& transform, std::uint64_t seed,
                torch::Tensor out);
void load_image(const std::filesystem::path& path, const ImageTransform& transform,
                std::uint64_t seed, torch::Tensor out);

struct Batch {
  torch::Tensor images;  ///< [B, 3, H, W], or [B, T, 3, H, W] in clip mode; float (pinned when the loader pins)
  torch::Tensor pids;    ///< [B] int64
  torch::Tensor camids;  ///< [B] int64
  std::vector<std::int64_t> indices;
};

/// Supplies the entry indices of each batch; nullopt ends the pass.
using BatchSource = std::function<std::optional<std::vector<std::int64_t>>()>;

/// Consecutive batches of `batch_size` over `count` entries (the last may be shorter).
BatchSource sequential_batches(std::int64_t count, std::int64_t batch_size);

/// Which frames of a tracklet entry make one clip (a video sampler's, samplers/options.hpp),
/// drawn deterministically from `seed` (the loader derives it from (loader seed, batch, item)).
using samplers::FrameChooser;

struct LoaderOptions {
  int workers = 2;
  int prefetch = 4;        ///< batches kept ready (or in work) ahead of the consumer
  bool pin_memory = false;
  std::uint64_t seed = 0;  ///< augmentation seed: batch b, item i draws from (seed, b, i)
  FrameChooser frames;     ///< empty: image mode (first image of each entry); set: clip mode
  std::uint64_t first_batch = 0;  ///< number of the first batch (b above): a resumed epoch's
  /// Number of the first item (i above) of each batch: a rank's share of a global batch draws
  /// what one process on the whole batch would.
  std::uint64_t first_item = 0;
};

class BatchLoader {
 public:
  BatchLoader(const std::vector<datasets::Entry>& entries, BatchSource source, Pipeline transform,
              LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// The next batch, or nullopt at the end of the pass. Rethrows a worker's error.
  std::optional<Batch> next();
  /// Seconds next() spent waiting for data so far (the training thread's data-wait).
  [[nodiscard]] double wait_seconds() const { return wait_seconds_; }
  /// Files decoded so far (a file used twice in one batch counts once).
  [[nodiscard]] std::int64_t decoded_files() const { return decoded_files_.load(); }

 private:
  struct Pending;
  struct Job;
  void coordinate();
  void work();
  std::shared_ptr<Pending> plan(std::uint64_t number, std::vector<std::int64_t> indices,
                                std::vector<Job>& jobs);
  torch::Tensor buffer(std::vector<std::int64_t> shape);

  const std::vector<datasets::Entry>& entries_;
  BatchSource source_;
  Pipeline transform_;
  LoaderOptions options_;

  std::mutex mutex_;
  std::condition_variable ready_, space_, jobs_ready_;
  std::deque<Job> jobs_;
  std::deque<std::shared_ptr<Pending>> pending_;  ///< in batch order, planned or done
  std::vector<torch::Tensor> pool_;               ///< batch buffers for reuse (unpinned)
  bool finished_ = false, stopping_ = false;
  double wait_seconds_ = 0;
  std::atomic<std::int64_t> decoded_files_{0};
  std::vector<std::jthread> workers_;
  std::jthread coordinator_;
};

}  // namespace fgreid::data
