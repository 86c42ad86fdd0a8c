#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace fgreid::datasets {

std::vector<std::int64_t> draw_validation_ids(std::vector<std::int64_t> train_pids,
                                              const ValidationOptions& split) {
  if (!(split.validation > 0.0 && split.validation < 1.0))
    throw UsageError(fmt::format("--validation {}: must be a fraction in (0, 1), or 0 for the "
                                 "official split", split.validation));
  std::ranges::sort(train_pids);
  // std::unique, not std::ranges::unique: clang 14 (the fuzz build) rejects libstdc++ 12's.
  train_pids.erase(std::unique(train_pids.begin(), train_pids.end()), train_pids.end());
  const auto count = static_cast<std::size_t>(
      std::floor(split.validation * static_cast<double>(train_pids.size())));
  if (count == 0 || count >= train_pids.size())
    throw UsageError(fmt::format("--validation {}: holds out {} of the {} training identities; "
                                 "both parts need at least one", split.validation, count,
                                 train_pids.size()));
  std::mt19937_64 rng(static_cast<std::uint64_t>(split.validation_seed));
  for (std::size_t i = train_pids.size() - 1; i > 0; --i)
    std::swap(train_pids[i],
              train_pids[static_cast<std::size_t>(synthetic::uniform_int(rng, 0, static_cast<int>(i)))]);
  train_pids.resize(count);
  std::ranges::sort(train_pids);
  return train_pids;
}

Splits finish_splits(std::vector<Entry> train, std::vector<Entry> query, std::vector<Entry> gallery,
                     const ValidationOptions& split) {
  Splits splits;
  if (split.validation == 0.0) {
    splits.train = std::move(train);
    splits.query = std::move(query);
    splits.gallery = std::move(gallery);
  } else {
    std::vector<std::int64_t> pids;
    for (const auto& entry : train) pids.push_back(entry.pid);
    const auto held = draw_validation_ids(std::move(pids), split);
    const std::set<std::int64_t> held_out(held.begin(), held.end());
    for (auto& entry : train) {
      if (held_out.contains(entry.pid)) {
        splits.query.push_back(entry);
        splits.gallery.push_back(std::move(entry));
      } else {
        splits.gallery.push_back(entry);
        splits.train.push_back(std::move(entry));
      }
    }
    splits.info["validation"] = {{"fraction", split.validation},
                                 {"seed", split.validation_seed},
                                 {"held_out_ids", held.size()},
                                 {"official_test_images_unused", query.size() + gallery.size()}};
  }
  relabel_ascending(splits.train);
  return splits;
}

}  // namespace fgreid::datasets
