#include <fgreid/error.hpp>
#include <fgreid/samplers/seed_chunks.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace fgreid::samplers {

std::vector<std::vector<std::int64_t>> detail::indices_by_label(std::span<const std::int64_t> labels,
                                                                int batch_p, int batch_k) {
  if (batch_p < 2 || batch_k < 1)
    throw UsageError(fmt::format("--batch-p must be >= 2 and --batch-k >= 1 (got {} and {})",
                                 batch_p, batch_k));
  std::map<std::int64_t, std::vector<std::int64_t>> by_label;
  for (std::size_t i = 0; i < labels.size(); ++i)
    by_label[labels[i]].push_back(static_cast<std::int64_t>(i));
  std::vector<std::vector<std::int64_t>> groups;
  for (auto& [label, indices] : by_label) groups.push_back(std::move(indices));
  if (groups.size() < static_cast<std::size_t>(batch_p))
    throw UsageError(fmt::format("--batch-p {} exceeds the {} training identities", batch_p, groups.size()));
  const auto largest = std::ranges::max(groups, {}, &std::vector<std::int64_t>::size).size();
  if (largest < static_cast<std::size_t>(batch_k))
    throw UsageError(fmt::format("--batch-k {}: no training identity has that many items (the most is {}); "
                                 "every one would be drawn with repeats",
                                 batch_k, largest));
  return groups;
}

IdentityChunks::IdentityChunks(std::span<const std::int64_t> labels, int batch_p, int batch_k)
    : batch_p_(batch_p),
      batch_k_(batch_k),
      by_identity_(detail::indices_by_label(labels, batch_p, batch_k)) {
  reset(0);
}

void IdentityChunks::reset(std::uint64_t seed) {
  rng_.seed(seed);
  next_identity_ = 0;
}

std::int64_t IdentityChunks::batches_per_epoch() const {
  return static_cast<std::int64_t>(by_identity_.size()) / batch_p_;
}

std::optional<std::vector<std::int64_t>> IdentityChunks::next() {
  const auto p = static_cast<std::size_t>(batch_p_);
  if (next_identity_ + p > by_identity_.size()) return std::nullopt;
  const auto k = static_cast<std::int64_t>(batch_k_);
  std::vector<std::int64_t> batch;
  batch.reserve(p * static_cast<std::size_t>(k));
  for (std::size_t entry = next_identity_; entry < next_identity_ + p; ++entry) {
    const auto& images = by_identity_[entry];
    const auto n = static_cast<std::int64_t>(images.size());
    const auto chunk = std::max<std::int64_t>(n / k, 1);
    for (std::int64_t j = 0; j < k; ++j) {
      const auto first = std::min(j * chunk, n - 1);
      const auto last = j + 1 < k ? std::min((j + 1) * chunk - 1, n - 1) : n - 1;
      std::uniform_int_distribution<std::int64_t> pick(first, last);
      batch.push_back(images[static_cast<std::size_t>(pick(rng_))]);
    }
  }
  next_identity_ += p;
  return batch;
}

}  // namespace fgreid::samplers
