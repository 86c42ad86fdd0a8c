#include <fgreid/error.hpp>
#include <fgreid/samplers/pk.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace fgreid::samplers {

RandomIdentity::RandomIdentity(std::span<const std::int64_t> labels, int batch_p, int batch_k)
    : batch_p_(batch_p), batch_k_(batch_k), by_identity_(detail::indices_by_label(labels, batch_p, batch_k)) {
  reset(0);
}

void RandomIdentity::reset(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto k = static_cast<std::size_t>(batch_k_);
  std::map<std::int64_t, std::deque<std::vector<std::int64_t>>> groups;
  for (std::size_t pid = 0; pid < by_identity_.size(); ++pid) {
    std::vector<std::int64_t> pool = by_identity_[pid];
    if (pool.size() < k) {
      std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
      std::vector<std::int64_t> drawn(k);
      std::ranges::generate(drawn, [&] { return pool[pick(rng)]; });
      pool = std::move(drawn);
    }
    std::ranges::shuffle(pool, rng);
    for (std::size_t start = 0; start + k <= pool.size(); start += k)
      groups[static_cast<std::int64_t>(pid)].emplace_back(pool.begin() + start, pool.begin() + start + k);
  }
  std::vector<std::int64_t> available;
  for (const auto& [pid, g] : groups) available.push_back(pid);
  batches_.clear();
  const auto p = static_cast<std::size_t>(batch_p_);
  while (available.size() >= p) {
    std::vector<std::int64_t> chosen;
    std::ranges::sample(available, std::back_inserter(chosen), p, rng);
    std::ranges::shuffle(chosen, rng);
    std::vector<std::int64_t> batch;
    for (auto pid : chosen) {
      auto& queue = groups[pid];
      batch.insert(batch.end(), queue.front().begin(), queue.front().end());
      queue.pop_front();
      if (queue.empty()) std::erase(available, pid);
    }
    batches_.push_back(std::move(batch));
  }
  batches_per_epoch_ = static_cast<std::int64_t>(batches_.size());
}

std::optional<std::vector<std::int64_t>> RandomIdentity::next() {
  if (batches_.empty()) return std::nullopt;
  auto batch = std::move(batches_.front());
  batches_.pop_front();
  return batch;
}

}  // namespace fgreid::samplers
