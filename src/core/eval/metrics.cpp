#include <fgreid/eval/metrics.hpp>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fgreid::eval {

namespace {

/// One integer per gallery entry whose order is the ranking order: distance first, then
/// gallery index, which is what a stable sort of the row gives. Integers compare faster than
/// (float, index) pairs and leave no room for NaN to break the strict weak ordering.
std::uint64_t rank_key(float distance, std::size_t gallery_index) {
  std::uint32_t ordered = std::numeric_limits<std::uint32_t>::max();  // NaN ranks last
  if (!std::isnan(distance)) {
    if (distance == 0.0f) distance = 0.0f;  // -0 and +0 compare equal, so they must tie
    const auto bits = std::bit_cast<std::uint32_t>(distance);
    // IEEE floats order like sign-magnitude integers: flip negatives, lift positives.
    ordered = (bits & 0x8000'0000u) != 0 ? ~bits : (bits | 0x8000'0000u);
  }
  return (std::uint64_t{ordered} << 32) | static_cast<std::uint32_t>(gallery_index);
}

/// How many of the sorted `keys` are <= `key`: std::upper_bound, but with a select instead of
/// a branch per step, since on real rows the comparisons are a coin toss for the predictor.
std::size_t count_not_after(const std::vector<std::uint64_t>& keys, std::uint64_t key) {
  const std::uint64_t* base = keys.data();
  for (std::size_t size = keys.size(); size > 1;) {
    const std::size_t half = size / 2;
    base = base[half] <= key ? base + half : base;
    size -= half;
  }
  return static_cast<std::size_t>(base - keys.data()) + (*base <= key ? 1 : 0);
}

/// What one query contributes; first_match < 0 marks a query without any true match.
struct QueryOutcome {
  std::int64_t first_match = -1;  ///< 0-based position of the first true match
  double average_precision = 0;
  double inverse_negative_penalty = 0;
};

/// Scratch space of one thread, sized for a whole gallery row once, so ranking a query
/// allocates nothing.
struct Workspace {
  explicit Workspace(std::size_t gallery_size) {
    match_keys.reserve(gallery_size);
    ahead_of_match.reserve(gallery_size);
  }
  std::vector<std::uint64_t> match_keys;
  std::vector<std::int64_t> ahead_of_match;
};

/// Ranks one query without sorting its row. Only the true matches' positions matter, so the
/// matches are sorted (a handful) and every other kept entry is counted into the gap between
/// the two matches it falls between: O(Ng log #matches) instead of O(Ng log Ng).
QueryOutcome rank_query(std::span<const float> row, std::int64_t pid, std::int64_t camid,
                        const Labels& gallery, Workspace& workspace) {
  auto& matches = workspace.match_keys;
  matches.clear();
  for (std::size_t g = 0; g < row.size(); ++g)
    if (gallery.pids[g] == pid && gallery.camids[g] != camid)
      matches.push_back(rank_key(row[g], g));
  if (matches.empty()) return {};
  std::ranges::sort(matches);

  // ahead_of_match[j] first counts the kept entries between match j-1 and match j; entries
  // seen by the query's own camera under its own identity are removed (Market-1501 rule).
  auto& ahead = workspace.ahead_of_match;
  ahead.assign(matches.size(), 0);
  const std::uint64_t last_match = matches.back();
  for (std::size_t g = 0; g < row.size(); ++g) {
    if (gallery.pids[g] == pid && gallery.camids[g] == camid) continue;
    const std::uint64_t key = rank_key(row[g], g);
    if (key >= last_match) continue;  // ranks after every match: changes nothing
    ++ahead[count_not_after(matches, key)];
  }

  QueryOutcome outcome;
  double precision_sum = 0;
  std::int64_t position = 0;  // of match j in the kept ranking: everything ahead of it
  for (std::size_t j = 0; j < matches.size(); ++j) {
    position += ahead[j];
    if (j == 0) outcome.first_match = position;
    precision_sum += static_cast<double>(j + 1) / static_cast<double>(position + 1);
  }
  const auto relevant = static_cast<double>(matches.size());
  outcome.average_precision = precision_sum / relevant;
  outcome.inverse_negative_penalty = relevant / static_cast<double>(position + 1);
  return outcome;
}

}  // namespace

Metrics evaluate_market(std::span<const float> distances, Labels query, Labels gallery,
                        int max_rank) {
  const std::size_t num_query = query.pids.size();
  const std::size_t num_gallery = gallery.pids.size();
  if (query.camids.size() != num_query || gallery.camids.size() != num_gallery)
    throw std::invalid_argument(fmt::format(
        "evaluate_market: {} query pids but {} camids, {} gallery pids but {} camids", num_query,
        query.camids.size(), num_gallery, gallery.camids.size()));
  if (distances.size() != num_query * num_gallery)
    throw std::invalid_argument(
        fmt::format("evaluate_market: {} distances for {} queries × {} gallery entries",
                    distances.size(), num_query, num_gallery));
  if (max_rank < 1)
    throw std::invalid_argument(fmt::format("evaluate_market: max_rank {} < 1", max_rank));
  if (num_gallery > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("evaluate_market: more than 2^32 gallery entries");

  std::vector<QueryOutcome> outcomes(num_query);
  tbb::enumerable_thread_specific<Workspace> workspaces([&] { return Workspace(num_gallery); });
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, num_query, 8),
                    [&](const tbb::blocked_range<std::size_t>& block) {
                      Workspace& workspace = workspaces.local();
                      for (std::size_t q = block.begin(); q != block.end(); ++q)
                        outcomes[q] = rank_query(distances.subspan(q * num_gallery, num_gallery),
                                                 query.pids[q], query.camids[q], gallery,
                                                 workspace);
                    });

  // Summed serially in query order, so the result does not depend on the thread count.
  Metrics metrics;
  metrics.total_queries = static_cast<std::int64_t>(num_query);
  std::vector<std::int64_t> first_match_at(static_cast<std::size_t>(max_rank), 0);
  for (const QueryOutcome& outcome : outcomes) {
    if (outcome.first_match < 0) continue;
    ++metrics.valid_queries;
    metrics.mAP += outcome.average_precision;
    metrics.mINP += outcome.inverse_negative_penalty;
    if (outcome.first_match < max_rank) ++first_match_at[static_cast<std::size_t>(outcome.first_match)];
  }
  metrics.cmc.assign(static_cast<std::size_t>(max_rank), 0.0);
  if (metrics.valid_queries == 0) return metrics;

  // A query's CMC is a step to 1 at its first match, and stays 1 past the end of a short
  // gallery: that is torchreid's padding with the last value.
  const auto valid = static_cast<double>(metrics.valid_queries);
  std::int64_t found = 0;
  for (std::size_t k = 0; k < metrics.cmc.size(); ++k) {
    found += first_match_at[k];
    metrics.cmc[k] = static_cast<double>(found) / valid;
  }
  metrics.mAP /= valid;
  metrics.mINP /= valid;
  return metrics;
}

std::uint64_t single_shot_draw(std::uint64_t seed, std::uint64_t query, std::uint64_t repeat,
                               std::int64_t pid) {
  auto mix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  return mix(mix(mix(mix(seed) ^ query) ^ repeat) ^ static_cast<std::uint64_t>(pid));
}

Metrics evaluate_single_shot(std::span<const float> distances, Labels query, Labels gallery,
                             int max_rank, const SingleShotOptions& options) {
  if (options.repeats < 1)
    throw std::invalid_argument(
        fmt::format("evaluate_single_shot: repeats {} < 1", options.repeats));
  // Checks the sizes too, and gives mAP, mINP and which queries are valid.
  Metrics metrics = evaluate_market(distances, query, gallery, max_rank);
  const std::size_t num_query = query.pids.size();
  const std::size_t num_gallery = gallery.pids.size();

  // Gallery members grouped by identity, ascending index within a group (CSR).
  std::vector<std::size_t> order(num_gallery);
  for (std::size_t g = 0; g < num_gallery; ++g) order[g] = g;
  std::ranges::stable_sort(order, [&](std::size_t a, std::size_t b) {
    return gallery.pids[a] < gallery.pids[b];
  });
  std::vector<std::size_t> group_start;
  for (std::size_t k = 0; k < num_gallery; ++k)
    if (k == 0 || gallery.pids[order[k]] != gallery.pids[order[k - 1]]) group_start.push_back(k);
  group_start.push_back(num_gallery);
  const std::size_t groups = group_start.size() - 1;

  // Per query: the first-match position of each repeat's gallery, summed into a CMC.
  const auto ranks = static_cast<std::size_t>(max_rank);
  std::vector<std::vector<double>> query_cmc(num_query);
  tbb::enumerable_thread_specific<std::vector<std::size_t>> kept_scratch;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, num_query, 8),
                    [&](const tbb::blocked_range<std::size_t>& block) {
    auto& own_kept = kept_scratch.local();
    for (std::size_t q = block.begin(); q != block.end(); ++q) {
      const std::int64_t pid = query.pids[q], camid = query.camids[q];
      const auto row = distances.subspan(q * num_gallery, num_gallery);
      // The query's own identity keeps only its members seen by other cameras.
      std::size_t own_group = groups;
      own_kept.clear();
      for (std::size_t group = 0; group < groups; ++group) {
        if (gallery.pids[order[group_start[group]]] != pid) continue;
        own_group = group;
        for (std::size_t k = group_start[group]; k < group_start[group + 1]; ++k)
          if (gallery.camids[order[k]] != camid) own_kept.push_back(order[k]);
      }
      if (own_kept.empty()) continue;  // invalid query, as in evaluate_market
      std::vector<double> cmc(ranks, 0.0);
      for (int repeat = 0; repeat < options.repeats; ++repeat) {
        const auto r = static_cast<std::uint64_t>(repeat);
        const std::size_t match =
            own_kept[single_shot_draw(options.seed, q, r, pid) % own_kept.size()];
        const std::uint64_t match_key = rank_key(row[match], match);
        std::size_t ahead = 0;
        for (std::size_t group = 0; group < groups; ++group) {
          if (group == own_group) continue;
          const std::size_t first = group_start[group];
          const std::size_t count = group_start[group + 1] - first;
          const std::size_t drawn =
              order[first + single_shot_draw(options.seed, q, r, gallery.pids[order[first]]) %
                                count];
          ahead += rank_key(row[drawn], drawn) < match_key ? 1 : 0;
        }
        for (std::size_t k = ahead; k < ranks; ++k) cmc[k] += 1.0;
      }
      for (double& value : cmc) value /= options.repeats;
      query_cmc[q] = std::move(cmc);
    }
  });

  metrics.cmc.assign(ranks, 0.0);
  if (metrics.valid_queries == 0) return metrics;
  for (const auto& cmc : query_cmc)  // in query order: independent of the thread count
    for (std::size_t k = 0; k < cmc.size(); ++k) metrics.cmc[k] += cmc[k];
  for (double& value : metrics.cmc) value /= static_cast<double>(metrics.valid_queries);
  return metrics;
}

nlohmann::json to_json(const Metrics& metrics) {
  nlohmann::json out;
  for (const std::size_t rank : {1, 5, 10, 20})
    if (rank <= metrics.cmc.size()) out[fmt::format("rank{}", rank)] = metrics.cmc[rank - 1];
  out["mAP"] = metrics.mAP;
  out["mINP"] = metrics.mINP;
  out["valid_queries"] = metrics.valid_queries;
  return out;
}

}  // namespace fgreid::eval
