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

void check_clip_options(int seq_len, int max_test_clips) {
  if (seq_len < 1) throw UsageError(fmt::format("--seq-len {}: a clip needs at least one frame", seq_len));
  if (max_test_clips < 1)
    throw UsageError(fmt::format("--max-test-clips {}: a tracklet needs at least one test clip", max_test_clips));
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
