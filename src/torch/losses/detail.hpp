#pragma once
// Helpers shared by the FGReID seed's loss terms (center.cpp, cosine_triplet.cpp, osm_caa.cpp,
// seed_terms.cpp). Private to src/torch/losses.
#include <torch/torch.h>

namespace fgreid::losses::detail {

/// Losses compute in float32 at least (half embeddings under autocast), double stays double.
inline torch::Tensor at_least_float(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? t : t.to(torch::kFloat);
}

inline torch::Tensor l2_normalised_rows(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::normalize(x, F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

/// Same-identity mask [B, B].
inline torch::Tensor same_identity(const torch::Tensor& labels) {
  return labels.unsqueeze(0) == labels.unsqueeze(1);
}

/// Moves a shared leaf tensor to `device` without changing its handle, so every holder of the
/// handle (an optimiser, OsmCaa) sees the moved data.
inline void move_in_place(const torch::Tensor& tensor, torch::Device device) {
  if (tensor.device() != device) tensor.set_data(tensor.data().to(device));
}

}  // namespace fgreid::losses::detail
