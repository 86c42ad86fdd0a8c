#pragma once
// Query × gallery distance matrices, the input of evaluate_market().
#include <fgreid/eval/metrics.hpp>
#include <torch/torch.h>

#include <cstdint>

namespace fgreid::eval {

/// Nq × Ng float32 distances on the CPU between the rows of `query` [Nq, D] and `gallery`
/// [Ng, D]. Computed on the inputs' device (a CUDA device works) `chunk_rows` query rows at a
/// time, so beyond the result the memory used is bounded by chunk_rows × Ng. Squared
/// Euclidean is ‖q‖² + ‖g‖² − 2 q·g clamped at 0; cosine treats a zero vector as orthogonal to
/// everything (distance 1). Throws std::invalid_argument on shapes or devices that differ.
[[nodiscard]] torch::Tensor pairwise_distances(const torch::Tensor& query,
                                               const torch::Tensor& gallery, Metric metric,
                                               std::int64_t chunk_rows = 1024);

}  // namespace fgreid::eval
