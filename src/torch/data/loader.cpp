#include <fgreid/data/loader.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#ifdef FGREID_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

#include <atomic>
#include <chrono>
#include <fstream>
#include <numeric>
#include <string>
#include <unordered_map>

namespace fgreid::data {

namespace {
constexpr std::uint64_t kFramesSalt = 0xF4A3E5;
}  // namespace

namespace {

[[noreturn]] void decode_failed(const std::filesystem::path& path) {
  throw DataError(std::filesystem::exists(path)
                      ? fmt::format("{}: cannot decode the image (corrupt or not an image)",
                                    path.string())
                      : fmt::format("{}: the image file is missing", path.string()));
}

#ifdef FGREID_HAVE_TURBOJPEG
/// libjpeg-turbo's TurboJPEG decodes a 128×64 JPEG in ~70 µs where cv::imread takes ~180 µs
/// (same library underneath: imread's overhead is its codec search, EXIF and stream layers).
struct TurboDecoder {
  tjhandle handle = tjInitDecompress();
  ~TurboDecoder() { tjDestroy(handle); }
};

/// A JPEG's header is read before its pixels are allocated: a few hostile bytes can claim
/// 65535 × 65535 (12 GB). Re-ID crops are small; a photo of 64 megapixels is allowed.
constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 26;

std::optional<cv::Mat> decode_jpeg(const std::vector<unsigned char>& bytes,
                                   const std::filesystem::path& path) {
  thread_local TurboDecoder decoder;
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (decoder.handle == nullptr ||
      tjDecompressHeader3(decoder.handle, bytes.data(), static_cast<unsigned long>(bytes.size()),
                          &width, &height, &subsampling, &colorspace) != 0 ||
      width <= 0 || height <= 0)
    return std::nullopt;
  if (std::int64_t{width} * height > kMaxImagePixels)
    throw DataError(fmt::format("{}: the JPEG claims {} × {} pixels, more than the {} an image may "
                                "have (a corrupt or hostile header)",
                                path.string(), width, height, kMaxImagePixels));
  cv::Mat bgr(height, width, CV_8UC3);
  // A warning (e.g. a truncated file, decoded as far as it goes) is accepted, as imread does.
  if (tjDecompress2(decoder.handle, bytes.data(), static_cast<unsigned long>(bytes.size()),
                    bgr.data, width, 0, height, TJPF_BGR, 0) != 0 &&
      tjGetErrorCode(decoder.handle) != TJERR_WARNING)
    return std::nullopt;
  return bgr;
}
#endif

}  // namespace

cv::Mat decode_image(const std::filesystem::path& path) {
#ifdef FGREID_HAVE_TURBOJPEG
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) decode_failed(path);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(file.tellg()));
  file.seekg(0);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    decode_failed(path);
  if (bytes.empty()) throw DataError(fmt::format("{}: the image file is empty (0 bytes)", path.string()));
  if (bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8) {
    if (auto jpeg = decode_jpeg(bytes, path)) return *jpeg;
    decode_failed(path);
  }
  cv::Mat bgr;
  try {
    bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {  // OpenCV asserts on some malformed inputs
    decode_failed(path);
  }
#else
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
#endif
  if (bgr.empty()) decode_failed(path);
  return bgr;
}

void load_image(const std::filesystem::path& path, const Pipeline& transform, std::uint64_t seed,
                torch::Tensor out) {
  TORCH_CHECK(out.is_contiguous() && out.scalar_type() == torch::kFloat && out.dim() == 3 &&
                  out.size(0) == 3 && out.size(1) == transform.height() &&
                  out.size(2) == transform.width(),
              "load_image: out must be a contiguous float [3, H, W] of the transform's size");
  transform.apply(decode_image(path), seed, out.data_ptr<float>());
}

void load_image(const std::filesystem::path& path, const ImageTransform& transform,
                std::uint64_t seed, torch::Tensor out) {
  load_image(path, Pipeline(transform), seed, std::move(out));
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

/// One batch on its way: planned by the coordinator, filled by the workers.
struct BatchLoader::Pending {
  Batch batch;
  std::exception_ptr error;
  std::atomic<std::int64_t> remaining{0};  ///< jobs not yet done
  bool done = false;                       ///< guarded by the loader's mutex
  std::mutex error_mutex;

  void fail(std::exception_ptr e) {
    std::lock_guard lock(error_mutex);
    if (!error) error = std::move(e);
  }
};

/// One distinct file of a batch and every slot it fills.
struct BatchLoader::Job {
  struct Target {
    float* out;           ///< [3, H, W] inside the batch's images
    std::uint64_t seed;   ///< the item's (a clip's frames share it)
    bool allow_erase;
  };
  std::shared_ptr<Pending> pending;
  std::filesystem::path path;
  std::vector<Target> targets;
};

BatchLoader::BatchLoader(const std::vector<datasets::Entry>& entries, BatchSource source,
                         Pipeline transform, LoaderOptions options)
    : entries_(entries),
      source_(std::move(source)),
      transform_(std::move(transform)),
      options_(std::move(options)) {
  options_.prefetch = std::max(1, options_.prefetch);
  const int workers = std::max(1, options_.workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
  coordinator_ = std::jthread([this] { coordinate(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  space_.notify_all();
  jobs_ready_.notify_all();
  coordinator_ = {};  // joins
  workers_.clear();   // joins; each finishes the job it holds
}

torch::Tensor BatchLoader::buffer(std::vector<std::int64_t> shape) {
  auto options = torch::TensorOptions().dtype(torch::kFloat);
  // Pinned batches come from LibTorch's pinned caching allocator, which reuses a block only
  // once the asynchronous copies recorded on it are done; reusing them here could overwrite
  // a batch still being copied to the GPU.
  if (options_.pin_memory) return torch::empty(shape, options.pinned_memory(true));
  // A pooled buffer is free again once nobody else holds it (nor a view of it).
  for (auto& tensor : pool_)
    if (tensor.use_count() == 1 && tensor.storage().use_count() == 1 &&
        tensor.sizes() == c10::IntArrayRef(shape))
      return tensor;
  auto tensor = torch::empty(shape, options);
  if (static_cast<int>(pool_.size()) < options_.prefetch + 2) {
    pool_.push_back(tensor);
  } else {
    for (auto& pooled : pool_)
      if (pooled.use_count() == 1 && pooled.storage().use_count() == 1) {
        pooled = tensor;
        break;
      }
  }
  return tensor;
}

std::shared_ptr<BatchLoader::Pending> BatchLoader::plan(std::uint64_t number,
                                                        std::vector<std::int64_t> indices,
                                                        std::vector<Job>& jobs) {
  auto pending = std::make_shared<Pending>();
  const auto size = static_cast<std::int64_t>(indices.size());
  const bool clips = static_cast<bool>(options_.frames);
  const std::uint64_t batch_seed = detail::mix_seed(options_.seed, number);

  // Items: their entries, seeds and frames.
  std::vector<const datasets::Entry*> items;
  std::vector<std::uint64_t> seeds;
  std::vector<std::vector<std::size_t>> frames;
  for (std::int64_t i = 0; i < size; ++i) {
    const auto index = indices[static_cast<std::size_t>(i)];
    if (index < 0 || index >= static_cast<std::int64_t>(entries_.size()))
      throw std::out_of_range(fmt::format("BatchLoader: entry index {} of batch {} out of range "
                                          "({} entries)", index, number, entries_.size()));
    const auto& entry = entries_[static_cast<std::size_t>(index)];
    if (entry.images.empty())
      throw DataError(fmt::format("entry {} (pid {}): no images", index, entry.pid));
    items.push_back(&entry);
    seeds.push_back(detail::mix_seed(batch_seed, options_.first_item + static_cast<std::uint64_t>(i)));
    if (clips) {
      auto chosen = options_.frames(entry, detail::mix_seed(seeds.back(), kFramesSalt));
      for (const auto frame : chosen)
        if (frame >= entry.images.size())
          throw DataError(fmt::format("{}: frame {} chosen for a clip, but the tracklet has {} "
                                      "frames", entry.images.front().string(), frame,
                                      entry.images.size()));
      if (chosen.empty())
        throw DataError(fmt::format("{}: no frames chosen for a clip",
                                    entry.images.front().string()));
      if (!frames.empty() && chosen.size() != frames.front().size())
        throw DataError(fmt::format("{}: a clip of {} frames in a batch of {}-frame clips",
                                    entry.images.front().string(), chosen.size(),
                                    frames.front().size()));
      frames.push_back(std::move(chosen));
    } else {
      frames.push_back({0});
    }
  }

  // The seed's rule: in a run of one identity's consecutive items that are all erased, the
  // last is left clean.
  std::vector<bool> allow_erase(static_cast<std::size_t>(size), true);
  if (transform_.keeps_one_clean()) {
    for (std::int64_t begin = 0; begin < size;) {
      std::int64_t end = begin + 1;
      while (end < size && items[end]->pid == items[begin]->pid) ++end;
      bool all_erased = end - begin >= 2;
      for (std::int64_t i = begin; i < end && all_erased; ++i)
        all_erased = transform_.erases(seeds[static_cast<std::size_t>(i)]);
      if (all_erased) allow_erase[static_cast<std::size_t>(end - 1)] = false;
      begin = end;
    }
  }

  const auto H = transform_.height(), W = transform_.width();
  const auto T = static_cast<std::int64_t>(frames.empty() ? 1 : frames.front().size());
  auto& batch = pending->batch;
  batch.images = clips ? buffer({size, T, 3, H, W}) : buffer({size, 3, H, W});
  batch.pids = torch::empty({size}, torch::kLong);
  batch.camids = torch::empty({size}, torch::kLong);
  auto* pids = batch.pids.data_ptr<std::int64_t>();
  auto* camids = batch.camids.data_ptr<std::int64_t>();
  float* images = batch.images.data_ptr<float>();
  std::unordered_map<std::string, std::size_t> job_of_file;
  for (std::int64_t i = 0; i < size; ++i) {
    pids[i] = items[static_cast<std::size_t>(i)]->pid;
    camids[i] = items[static_cast<std::size_t>(i)]->camid;
    for (std::int64_t t = 0; t < T; ++t) {
      const auto& path =
          items[static_cast<std::size_t>(i)]->images[frames[static_cast<std::size_t>(i)][static_cast<std::size_t>(t)]];
      auto [slot, fresh] = job_of_file.try_emplace(path.native(), jobs.size());
      if (fresh) jobs.push_back(Job{pending, path, {}});
      jobs[slot->second].targets.push_back(
          {images + (i * T + t) * 3 * H * W, seeds[static_cast<std::size_t>(i)],
           allow_erase[static_cast<std::size_t>(i)]});
    }
  }
  pending->remaining = static_cast<std::int64_t>(jobs.size());
  batch.indices = std::move(indices);
  return pending;
}

void BatchLoader::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      jobs_ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    auto& pending = *job.pending;
    try {
      const cv::Mat decoded = decode_image(job.path);
      decoded_files_.fetch_add(1, std::memory_order_relaxed);
      for (const auto& target : job.targets)
        transform_.apply(decoded, target.seed, target.out, target.allow_erase);
    } catch (...) {
      pending.fail(std::current_exception());
    }
    if (pending.remaining.fetch_sub(1) == 1) {
      std::lock_guard lock(mutex_);
      pending.done = true;
      ready_.notify_all();
    }
  }
}

void BatchLoader::coordinate() {
  for (std::uint64_t number = options_.first_batch;; ++number) {
    {
      std::unique_lock lock(mutex_);
      space_.wait(lock, [&] {
        return stopping_ || static_cast<int>(pending_.size()) < options_.prefetch;
      });
      if (stopping_) return;
    }
    std::vector<Job> jobs;
    std::shared_ptr<Pending> pending;
    try {
      auto indices = source_();
      if (!indices) break;
      pending = plan(number, std::move(*indices), jobs);
    } catch (...) {
      pending = std::make_shared<Pending>();
      pending->error = std::current_exception();
      jobs.clear();
    }
    std::lock_guard lock(mutex_);
    // next() may have ended the pass (a failed batch) while this one was planned: queued now,
    // it would wait forever for workers that have stopped.
    if (stopping_) return;
    pending->done = jobs.empty();
    const bool failed = static_cast<bool>(pending->error);
    pending_.push_back(std::move(pending));
    for (auto& job : jobs) jobs_.push_back(std::move(job));
    jobs_ready_.notify_all();
    ready_.notify_all();
    if (failed) return;
  }
  std::lock_guard lock(mutex_);
  finished_ = true;
  ready_.notify_all();
}

std::optional<Batch> BatchLoader::next() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] {
    return (!pending_.empty() && pending_.front()->done) || (finished_ && pending_.empty());
  });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (pending_.empty()) return std::nullopt;
  auto pending = std::move(pending_.front());
  pending_.pop_front();
  space_.notify_one();
  if (pending->error) {
    // Nothing after a failed batch: the pass ends with the error.
    finished_ = true;
    stopping_ = true;
    jobs_.clear();
    pending_.clear();
    space_.notify_all();
    jobs_ready_.notify_all();
    std::rethrow_exception(pending->error);
  }
  return std::move(pending->batch);
}

}  // namespace fgreid::data
