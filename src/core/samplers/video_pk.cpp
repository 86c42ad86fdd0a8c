#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/error.hpp>
#include <fgreid/samplers/pk.hpp>
#include <fgreid/samplers/video_pk.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace fgreid::samplers {

namespace {
using datasets::synthetic::uniform_int;

std::size_t uniform_index(std::mt19937_64& rng, std::size_t lo, std::size_t hi) {
  return static_cast<std::size_t>(uniform_int(rng, static_cast<int>(lo), static_cast<int>(hi)));
}
}  // namespace

std::vector<std::size_t> training_clip(std::size_t frames, std::size_t seq_len,
                                       ClipSampling sampling, std::uint64_t seed) {
  if (frames == 0 || seq_len == 0) throw std::invalid_argument("training_clip: empty tracklet or clip");
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> clip;
  clip.reserve(seq_len);
  if (sampling == ClipSampling::consecutive) {
    // the seed's bounds: the start never reaches n − seq_len (its `- 1`)
    const std::size_t last_start = frames > seq_len + 1 ? frames - seq_len - 1 : 0;
    const std::size_t start = uniform_index(rng, 0, last_start);
    for (std::size_t i = start; i < std::min(start + seq_len, frames); ++i) clip.push_back(i);
    while (clip.size() < seq_len) clip.push_back(clip.back());
  } else {
    const std::size_t chunk = std::max<std::size_t>(frames / seq_len, 1);
    for (std::size_t j = 0; j < seq_len; ++j) {
      const std::size_t first = std::min(j * chunk, frames - 1);
      const std::size_t last = j + 1 < seq_len ? std::min((j + 1) * chunk - 1, frames - 1) : frames - 1;
      clip.push_back(uniform_index(rng, first, last));
    }
  }
  return clip;
}

std::vector<std::vector<std::size_t>> test_clips(std::size_t frames, std::size_t seq_len,
                                                 std::size_t max_clips) {
  if (frames == 0 || seq_len == 0) throw std::invalid_argument("test_clips: empty tracklet or clip");
  std::vector<std::vector<std::size_t>> clips;
  std::size_t start = 0;
  while (frames - start > seq_len && clips.size() < max_clips) {
    clips.emplace_back(seq_len);
    std::iota(clips.back().begin(), clips.back().end(), start);
    start += seq_len;
  }
  if (clips.size() < max_clips) {
    std::vector<std::size_t> last(frames - start);
    std::iota(last.begin(), last.end(), start);
    for (std::size_t i = 0; last.size() < seq_len; ++i) last.push_back(last[i]);
    clips.push_back(std::move(last));
  }
  return clips;
}

std::vector<std::size_t> sampled_test_frames(std::size_t frames, std::size_t max_frames,
                                             std::uint64_t seed) {
  if (frames == 0 || max_frames == 0) throw std::invalid_argument("sampled_test_frames: empty tracklet or plan");
  std::vector<std::size_t> all(frames);
  std::iota(all.begin(), all.end(), std::size_t{0});
  const std::size_t each = frames / max_frames;
  if (each == 0) return all;
  const std::size_t first = max_frames * (each + 1) - frames, second = frames - max_frames * each;
  std::mt19937_64 rng(seed);
  // random.sample then sorted: a uniformly drawn subset of each part, in order.
  auto subset = [&](std::size_t begin, std::size_t end, std::size_t count) {
    std::vector<std::size_t> part(all.begin() + static_cast<std::ptrdiff_t>(begin),
                                  all.begin() + static_cast<std::ptrdiff_t>(end));
    for (std::size_t i = 0; i < count; ++i) std::swap(part[i], part[uniform_index(rng, i, part.size() - 1)]);
    part.resize(count);
    std::ranges::sort(part);
    return part;
  };
  auto chosen = subset(0, each * first, first);
  const auto rest = subset(each * first, frames, second);
  chosen.insert(chosen.end(), rest.begin(), rest.end());
  return chosen;
}

std::vector<std::vector<std::size_t>> clips_of_frames(std::vector<std::size_t> frames,
                                                      std::size_t seq_len) {
  if (frames.empty() || seq_len == 0) throw std::invalid_argument("clips_of_frames: no frames or empty clip");
  if (const std::size_t left = frames.size() % seq_len; left != 0) {
    std::vector<std::size_t> last(frames.end() - static_cast<std::ptrdiff_t>(left), frames.end());
    for (std::size_t i = 0; last.size() < seq_len; ++i) last.push_back(last[i]);
    frames.insert(frames.end(), last.begin(), last.end());
  }
  std::vector<std::vector<std::size_t>> clips;
  for (std::size_t start = 0; start + seq_len <= frames.size(); start += seq_len)
    clips.emplace_back(frames.begin() + static_cast<std::ptrdiff_t>(start),
                       frames.begin() + static_cast<std::ptrdiff_t>(start + seq_len));
  return clips;
}

void check_clip_options(const ClipOptions& clips) {
  if (clips.seq_len < 1)
    throw UsageError(fmt::format("--seq-len {}: a clip needs at least one frame", clips.seq_len));
  if (clips.max_test_clips < 1)
    throw UsageError(fmt::format("--max-test-clips {}: a tracklet needs at least one test clip", clips.max_test_clips));
  if (clips.max_test_frames < 1)
    throw UsageError(fmt::format("--max-test-frames {}: a tracklet needs at least one test frame", clips.max_test_frames));
}

ClipPlan plan_test_clips(const ClipOptions& clips) {
  const auto seq_len = static_cast<std::size_t>(clips.seq_len);
  if (clips.test_sampling == TestSampling::dense) {
    const auto max_clips = static_cast<std::size_t>(clips.max_test_clips);
    return [seq_len, max_clips](const datasets::Entry& entry) {
      return test_clips(entry.images.size(), seq_len, max_clips);
    };
  }
  const auto max_frames = static_cast<std::size_t>(clips.max_test_frames);
  return [seq_len, max_frames](const datasets::Entry& entry) {
    // FNV-1a of the first image's name: the same frames on every platform and evaluation.
    std::uint64_t seed = 14695981039346656037ull;
    for (const unsigned char c : entry.images.front().filename().string()) seed = (seed ^ c) * 1099511628211ull;
    return clips_of_frames(sampled_test_frames(entry.images.size(), max_frames, seed), seq_len);
  };
}

IdentityTracklets::IdentityTracklets(std::span<const std::int64_t> labels, int batch_p, int batch_k)
    : batch_p_(batch_p),
      batch_k_(batch_k),
      by_identity_(detail::indices_by_label(labels, batch_p, batch_k)) {
  reset(0);
}

void IdentityTracklets::reset(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> order(by_identity_.size());
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[uniform_index(rng, 0, i)]);
  const auto k = static_cast<std::size_t>(batch_k_);
  epoch_.clear();
  for (const auto identity : order) {
    auto pool = by_identity_[identity];
    if (pool.size() >= k) {  // K distinct tracklets: a partial shuffle
      for (std::size_t i = 0; i < k; ++i) std::swap(pool[i], pool[uniform_index(rng, i, pool.size() - 1)]);
      epoch_.insert(epoch_.end(), pool.begin(), pool.begin() + static_cast<std::ptrdiff_t>(k));
    } else {  // with replacement
      for (std::size_t i = 0; i < k; ++i) epoch_.push_back(pool[uniform_index(rng, 0, pool.size() - 1)]);
    }
  }
  next_ = 0;
}

std::int64_t IdentityTracklets::batches_per_epoch() const {
  return static_cast<std::int64_t>(by_identity_.size()) / batch_p_;
}

std::optional<std::vector<std::int64_t>> IdentityTracklets::next() {
  const auto size = static_cast<std::size_t>(batch_p_) * static_cast<std::size_t>(batch_k_);
  if (next_ + size > epoch_.size()) return std::nullopt;
  std::vector<std::int64_t> batch(epoch_.begin() + static_cast<std::ptrdiff_t>(next_),
                                  epoch_.begin() + static_cast<std::ptrdiff_t>(next_ + size));
  next_ += size;
  return batch;
}

}  // namespace fgreid::samplers
