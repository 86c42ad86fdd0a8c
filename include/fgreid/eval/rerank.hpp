#pragma once
// k-reciprocal re-ranking (Zhong et al., CVPR 2017), torch-free and memory-bounded.
//
// Semantics are those of the authors' reference as torchreid ships it
// (torchreid/utils/rerank.py): over the N = Nq + Ng items, M = [[qq, qg], [qgᵀ, gg]] is
// squared and each column divided by its maximum; row i of that normalised matrix (column i
// of M) ranks everything against item i. k-reciprocal sets of k1 neighbours grow by the
// candidates' round(k1/2)-reciprocal sets that overlap them by more than ⅔; V holds
// exp(−d)-weights over the grown set, averaged over the k2 nearest rows (query expansion);
// the Jaccard distance of a query to a gallery item comes from an inverted index of V, and
// final = (1 − λ)·Jaccard + λ·normalised original.
//
// Unlike the reference, nothing of size N² is held: the normalised matrix is streamed once, a
// block of columns at a time (only its upper triangle when M is symmetric, as distances are),
// V is sparse (N × a few hundred non-zeros), and the output is the Nq × Ng float32 matrix,
// which holds the query rows of the normalised matrix until the Jaccard distances join them.
#include <fgreid/options.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace fgreid::eval {

/// Parameters of k-reciprocal re-ranking; the defaults are the paper's.
struct RerankOptions {
  static constexpr std::string_view flag_group = "evaluation: re-ranking (with --rerank)";
  /// Neighbours of the k-reciprocal sets (k1 of the paper).
  int k1 = 20;
  /// Neighbours averaged by local query expansion (k2 of the paper, at most k1 + 1; 1 = off).
  int k2 = 6;
  /// Weight of the original distance in the final distance; Jaccard gets 1 − lambda.
  double lambda = 0.3;
  FGREID_REFLECT(RerankOptions, k1, k2, lambda);
};

/// The N × N matrix M = [[qq, qg], [qgᵀ, gg]] of base distances, read a column at a time.
/// "Base" is what the reference squares (Euclidean distances), unless `square` is false, in
/// which case the values are used as they are, floored at 0 (squared distances, or the seed's
/// st-ReID variant's 2 − 2·score).
class RerankSource {
 public:
  virtual ~RerankSource() = default;
  [[nodiscard]] virtual std::size_t num_query() const = 0;
  [[nodiscard]] virtual std::size_t num_gallery() const = 0;
  /// Rows [first_row, N) of columns [begin, end) of M, written as rows:
  /// out[(i − begin)·(N − first_row) + j − first_row] = M[j][i]. Called concurrently from
  /// several threads with disjoint ranges, always with first_row 0 unless symmetric().
  virtual void columns(std::size_t begin, std::size_t end, std::size_t first_row,
                       std::span<float> out) const = 0;
  /// One entry M[j][i] (column i, row j). Called concurrently.
  [[nodiscard]] virtual float at(std::size_t i, std::size_t j) const = 0;
  /// Whether the reference's squaring applies (true for Euclidean distances).
  [[nodiscard]] virtual bool square() const { return true; }
  /// Whether M[j][i] == M[i][j]: then only its upper triangle is read, halving the work.
  [[nodiscard]] virtual bool symmetric() const { return false; }
  /// Columns per columns() call: larger suits sources that compute them by matrix product.
  [[nodiscard]] virtual std::size_t preferred_block() const { return 16; }
};

/// M from three dense row-major float32 matrices, as torchreid's re_ranking takes them:
/// query×gallery [Nq, Ng], query×query [Nq, Nq], gallery×gallery [Ng, Ng]. The spans must
/// outlive the source. `symmetric` promises that query×query and gallery×gallery are exactly
/// symmetric (numpy's matrix products need not give that), so that one triangle is enough.
class DenseRerankSource final : public RerankSource {
 public:
  /// Throws std::invalid_argument when the sizes do not fit Nq and Ng.
  DenseRerankSource(std::span<const float> query_gallery, std::span<const float> query_query,
                    std::span<const float> gallery_gallery, std::size_t num_query,
                    std::size_t num_gallery, bool square = true, bool symmetric = false);
  [[nodiscard]] std::size_t num_query() const override { return num_query_; }
  [[nodiscard]] std::size_t num_gallery() const override { return num_gallery_; }
  void columns(std::size_t begin, std::size_t end, std::size_t first_row,
               std::span<float> out) const override;
  [[nodiscard]] float at(std::size_t i, std::size_t j) const override;
  [[nodiscard]] bool square() const override { return square_; }
  [[nodiscard]] bool symmetric() const override { return symmetric_; }

 private:
  std::span<const float> query_gallery_, query_query_, gallery_gallery_;
  std::size_t num_query_, num_gallery_;
  bool square_, symmetric_;
};

/// Re-ranked Nq × Ng distances, row major, float32 (smaller is more similar): the reference's
/// final_dist[:Nq, Nq:]. Parallel (TBB) and deterministic. Throws std::invalid_argument on
/// k1 < 1, k2 < 1, k2 > k1 + 1, lambda outside [0, 1] or an empty side.
[[nodiscard]] std::vector<float> rerank(const RerankSource& source,
                                        const RerankOptions& options = {});

}  // namespace fgreid::eval
