#include <fgreid/data/loader.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <latch>
#include <random>

namespace fgreid::data {

namespace {
constexpr std::array<float, 3> kMean{0.485f, 0.456f, 0.406f};
constexpr std::array<float, 3> kStd{0.229f, 0.224f, 0.225f};

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  // splitmix64 step: decorrelates nearby (seed, batch, item) triples.
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

void load_image(const std::filesystem::path& path, const ImageTransform& transform,
                std::uint64_t seed, torch::Tensor out) {
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) {
    throw DataError(std::filesystem::exists(path)
                        ? fmt::format("{}: cannot decode the image (corrupt or not an image)",
                                      path.string())
                        : fmt::format("{}: the image file is missing", path.string()));
  }
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(static_cast<int>(transform.width),
                                    static_cast<int>(transform.height)),
             0, 0, cv::INTER_LINEAR);
  std::mt19937_64 rng(seed);
  if (transform.flip_probability > 0 &&
      std::uniform_real_distribution<double>(0, 1)(rng) < transform.flip_probability)
    cv::flip(resized, resized, 1);
  auto planes = out.accessor<float, 3>();
  for (int y = 0; y < resized.rows; ++y) {
    const auto* row = resized.ptr<cv::Vec3b>(y);
    for (int x = 0; x < resized.cols; ++x)
      for (int c = 0; c < 3; ++c)  // BGR -> RGB
        planes[c][y][x] = (static_cast<float>(row[x][2 - c]) / 255.0f - kMean[c]) / kStd[c];
  }
}

BatchSource sequential_batches(std::int64_t count, std::int64_t batch_size) {
  return [next = std::int64_t{0}, count, batch_size]() mutable
         -> std::optional<std::vector<std::int64_t>> {
    if (next >= count) return std::nullopt;
    std::vector<std::int64_t> batch(static_cast<std::size_t>(std::min(batch_size, count - next)));
    std::iota(batch.begin(), batch.end(), next);
    next += static_cast<std::int64_t>(batch.size());
    return batch;
  };
}

BatchLoader::BatchLoader(const std::vector<datasets::Entry>& entries, BatchSource source,
                         ImageTransform transform, LoaderOptions options)
    : entries_(entries), source_(std::move(source)), transform_(transform), options_(options) {
  const int workers = std::max(1, options_.workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  coordinator_ = std::jthread([this] { coordinate(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  jobs_ready_.notify_all();
  coordinator_ = {};  // joins; it finishes its batch in flight first
  {
    std::lock_guard lock(mutex_);
    jobs_.clear();
  }
  jobs_ready_.notify_all();
  workers_.clear();
}

void BatchLoader::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      jobs_ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void BatchLoader::coordinate() {
  for (std::uint64_t number = 0;; ++number) {
    std::optional<std::vector<std::int64_t>> indices;
    std::exception_ptr error;
    try {
      indices = source_();
    } catch (...) {
      error = std::current_exception();
    }
    if (!indices && !error) break;
    Batch batch;
    if (indices) {
      const auto size = static_cast<std::int64_t>(indices->size());
      auto options = torch::TensorOptions().dtype(torch::kFloat).pinned_memory(options_.pin_memory);
      batch.images = torch::empty({size, 3, transform_.height, transform_.width}, options);
      batch.pids = torch::empty({size}, torch::kLong);
      batch.camids = torch::empty({size}, torch::kLong);
      auto* pids = batch.pids.data_ptr<std::int64_t>();
      auto* camids = batch.camids.data_ptr<std::int64_t>();
      std::latch decoded(size);
      std::mutex error_mutex;
      for (std::int64_t i = 0; i < size; ++i) {
        const auto& entry = entries_.at(static_cast<std::size_t>((*indices)[static_cast<std::size_t>(i)]));
        pids[i] = entry.pid;
        camids[i] = entry.camid;
        auto job = [&, i, slot = batch.images[i]] {
          try {
            load_image(entry.images.front(), transform_,
                       mix(mix(options_.seed, number), static_cast<std::uint64_t>(i)), slot);
          } catch (...) {
            std::lock_guard lock(error_mutex);
            if (!error) error = std::current_exception();
          }
          decoded.count_down();
        };
        {
          std::lock_guard lock(mutex_);
          jobs_.push_back(std::move(job));
        }
        jobs_ready_.notify_one();
      }
      decoded.wait();
      batch.indices = std::move(*indices);
    }
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] {
      return stopping_ || static_cast<int>(done_.size()) < std::max(1, options_.prefetch);
    });
    if (stopping_) return;
    done_.emplace_back(std::move(batch), error);
    ready_.notify_one();
    if (error) return;
  }
  std::lock_guard lock(mutex_);
  finished_ = true;
  ready_.notify_all();
}

std::optional<Batch> BatchLoader::next() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return finished_ || !done_.empty(); });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (done_.empty()) return std::nullopt;
  auto [batch, error] = std::move(done_.front());
  done_.pop_front();
  space_.notify_one();
  if (error) {
    finished_ = true;
    std::rethrow_exception(error);
  }
  return std::move(batch);
}

}  // namespace fgreid::data
