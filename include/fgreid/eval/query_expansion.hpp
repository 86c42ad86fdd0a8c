#pragma once
// Average query expansion, α-QE (Radenović et al., TPAMI 2019; fast-reid's TEST.AQE): every
// query and gallery feature is replaced by the mean of its k nearest features (itself
// included, by cosine similarity over queries and gallery together), each weighted by its
// cosine similarity to the power α; then retrieval runs again on the expanded features.
#include <torch/torch.h>

#include <utility>

namespace fgreid::eval {

struct QueryExpansion {
  /// Neighbours averaged (fast-reid's QE_K), at least 1.
  int k = 5;
  /// Exponent of the cosine weights (ALPHA).
  double alpha = 3.0;
  /// Rounds of expansion, each on the previous round's features (QE_TIME).
  int times = 1;
};

/// The expanded {query, gallery} features ([Nq, D], [Ng, D], float on the inputs' device).
/// The weights multiply the features as they are, not normalised, as fast-reid does. Throws
/// std::invalid_argument when k exceeds Nq + Ng or is below 1, or times is below 1.
[[nodiscard]] std::pair<torch::Tensor, torch::Tensor> expand_queries(const torch::Tensor& query,
                                                                     const torch::Tensor& gallery,
                                                                     const QueryExpansion& options);

}  // namespace fgreid::eval
