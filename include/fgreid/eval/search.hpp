#pragma once
// Exact top-K search of a gallery too large to hold as a query × gallery matrix: the gallery
// streams from its .npy file a block of rows at a time (on the GPU when there is one), and a
// running top-K per query is merged with each block's. Memory: the queries, one block, and
// Nq × (K + block) distances, whatever the gallery's size. Distances are pairwise_distances'
// (eval/distance.hpp): squared Euclidean, or 1 − cosine.
#include <fgreid/engine/options.hpp>
#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/npy.hpp>
#include <fgreid/eval/rerank.hpp>
#include <fgreid/options.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>

namespace fgreid::eval {

/// fgreid_search's own flags.
struct SearchOptions {
  static constexpr std::string_view flag_group = "search";
  /// Query features: a .npy [Nq, D] float32 (--extract-images writes one), its paths in FILE.paths.txt beside it.
  std::filesystem::path query;
  /// Gallery features: a .npy [Ng, D] float32, streamed in blocks; paths in FILE.paths.txt beside it.
  std::filesystem::path gallery;
  /// Gallery entries kept per query, best first.
  int top_k = 10;
  /// Distance: euclidean (squared) or cosine (1 − cos).
  Metric metric = Metric::euclidean;
  /// Gallery rows per block: bounds the memory besides the queries.
  std::int64_t block_rows = 65536;
  /// Compute device: auto (CUDA when present), cpu or cuda.
  engine::DeviceChoice device = engine::DeviceChoice::automatic;
  /// Where the ranked lists go: FILE.jsonl (one JSON object per line) or FILE.csv; none: JSON lines on stdout.
  std::filesystem::path output;
  /// Draw the first queries with their ranked gallery images as this PNG; none: no picture.
  std::filesystem::path grid;
  /// Queries in the --grid picture.
  int grid_queries = 8;
  /// Re-rank with k-reciprocal encoding (k1, k2, lambda flags); needs the gallery and the Nq × Ng distances in memory.
  bool rerank = false;
  FGREID_REFLECT(SearchOptions, query, gallery, top_k, metric, block_rows, device, output, grid,
                 grid_queries, rerank);
};

/// The K nearest gallery rows of each query: indices [Nq, K] int64 and distances [Nq, K]
/// float32, on the CPU, nearest first (equal distances: lower gallery index first).
struct TopK {
  torch::Tensor indices, distances;
};

/// (rows done, rows) after each gallery block.
using SearchProgress = std::function<void(std::int64_t done, std::int64_t total)>;

/// Exact top-K of `query` [Nq, D] against the gallery in `gallery`, streamed `block_rows` rows
/// at a time on `device`. Throws DataError naming the gallery file when its dimension is not
/// D, std::invalid_argument on top_k or block_rows < 1. K is min(top_k, Ng).
[[nodiscard]] TopK search_top_k(const torch::Tensor& query, NpyReader& gallery, std::int64_t top_k,
                                Metric metric, torch::Device device, std::int64_t block_rows,
                                const SearchProgress& progress = {});

/// The same from a gallery in memory [Ng, D]: what --rerank and the tests use.
[[nodiscard]] TopK top_k_of(const torch::Tensor& distances, std::int64_t top_k);

/// Re-ranked top-K: k-reciprocal re-ranking (eval/rerank.hpp) of the whole query × gallery
/// matrix, with `gallery` [Ng, D] in memory, then the top K of each row.
[[nodiscard]] TopK rerank_top_k(const torch::Tensor& query, const torch::Tensor& gallery,
                                std::int64_t top_k, Metric metric, const RerankOptions& options);

}  // namespace fgreid::eval
