#pragma once
// Ranking metrics on a query × gallery distance matrix (no LibTorch needed).
#include <fgreid/enum_names.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace fgreid::eval {

/// How far apart two features are; smaller ranks first.
enum class Metric {
  euclidean,  ///< squared Euclidean distance, as torchreid ranks by
  cosine,     ///< 1 − cosine similarity
};

}  // namespace fgreid::eval

template <>
struct fgreid::EnumNames<fgreid::eval::Metric> {
  static constexpr std::array<std::string_view, 2> values{"euclidean", "cosine"};
};

namespace fgreid::eval {

/// Identity and camera labels of one side (query or gallery).
struct Labels {
  std::span<const std::int64_t> pids;
  std::span<const std::int64_t> camids;
};

struct Metrics {
  /// cmc[k]: fraction of valid queries whose first true match is within the top k+1.
  std::vector<double> cmc;
  /// Mean over valid queries of Σ_k precision@k · rel_k / #relevant (torchreid's AP).
  double mAP = 0;
  /// Mean inverse negative penalty (fast-reid): #relevant / rank of the hardest match.
  double mINP = 0;
  std::int64_t valid_queries = 0;
  std::int64_t total_queries = 0;
};

/// Market-1501 rules: for each query, gallery entries with the same pid *and* camera are
/// removed; queries left without any true match are skipped. `distances` is Nq × Ng, row
/// major; smaller is more similar. Exact (stable order on ties by gallery index; NaN ranks
/// last). No pid is special: distractors (pid 0) are plain non-matches, junk (-1) must be
/// dropped by the caller. cmc always has max_rank entries, 1 past the end of a short gallery;
/// with no valid query everything is 0. Multithreaded over queries (TBB) yet deterministic.
/// Throws std::invalid_argument on sizes that do not fit or max_rank < 1.
[[nodiscard]] Metrics evaluate_market(std::span<const float> distances, Labels query,
                                      Labels gallery, int max_rank = 50);

/// How the single-gallery-shot protocol draws its galleries.
struct SingleShotOptions {
  /// Random galleries drawn per query (torchreid's num_repeats).
  int repeats = 10;
  /// Seed of the draws; the same seed gives the same metrics on any machine and thread count.
  std::uint64_t seed = 1;
};

/// The single-gallery-shot protocol of torchreid's eval_cuhk03 (CUHK01/03-style): after the
/// Market-1501 removal, each query sees `repeats` galleries of one randomly drawn image per
/// gallery identity, and its CMC is the mean over them. mAP and mINP are evaluate_market's
/// (on the whole kept gallery, as eval_cuhk03 computes AP). The draw of identity p for query q
/// in repeat r is its kept member number single_shot_draw(seed, q, r, p) mod count, members in
/// ascending gallery index: a counter-based hash instead of numpy's stream, so queries run in
/// parallel and a Python port reproduces it exactly. The CMC is padded past the number of
/// identities with its last value. Throws like evaluate_market, and on repeats < 1.
[[nodiscard]] Metrics evaluate_single_shot(std::span<const float> distances, Labels query,
                                           Labels gallery, int max_rank = 50,
                                           const SingleShotOptions& options = {});

/// The hash behind evaluate_single_shot's draws (splitmix64 steps over seed, query, repeat,
/// pid): m(m(m(m(seed) ^ q) ^ r) ^ pid) with m the splitmix64 output function of x + golden.
[[nodiscard]] std::uint64_t single_shot_draw(std::uint64_t seed, std::uint64_t query,
                                             std::uint64_t repeat, std::int64_t pid);

/// `{"rank1":..,"rank5":..,"rank10":..,"rank20":..,"mAP":..,"mINP":..,"valid_queries":..}`,
/// fractions in [0, 1]; a rankK beyond the CMC's length (max_rank < K) is left out.
[[nodiscard]] nlohmann::json to_json(const Metrics& metrics);

}  // namespace fgreid::eval
