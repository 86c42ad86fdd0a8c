#include <fgreid/eval/distance.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace fgreid::eval {

namespace {
torch::Tensor unit_rows(const torch::Tensor& rows) {
  return torch::nn::functional::normalize(rows, torch::nn::functional::NormalizeFuncOptions().dim(1));
}
}  // namespace

torch::Tensor pairwise_distances(const torch::Tensor& query, const torch::Tensor& gallery,
                                 Metric metric, std::int64_t chunk_rows) {
  if (query.dim() != 2 || gallery.dim() != 2 || query.size(1) != gallery.size(1))
    throw std::invalid_argument(fmt::format(
        "pairwise_distances: query {} and gallery {} are not two [N, D] matrices with one D",
        c10::str(query.sizes()), c10::str(gallery.sizes())));
  if (query.device() != gallery.device())
    throw std::invalid_argument(fmt::format("pairwise_distances: query on {}, gallery on {}",
                                            query.device().str(), gallery.device().str()));
  if (chunk_rows < 1)
    throw std::invalid_argument(fmt::format("pairwise_distances: chunk_rows {} < 1", chunk_rows));

  torch::NoGradGuard no_grad;
  const auto num_query = query.size(0);
  auto result = torch::empty({num_query, gallery.size(0)}, torch::kFloat);
  const auto query_rows = query.to(torch::kFloat);
  // The gallery side is prepared once, not per chunk.
  const auto gallery_rows =
      metric == Metric::cosine ? unit_rows(gallery.to(torch::kFloat)) : gallery.to(torch::kFloat);
  const auto gallery_norms = metric == Metric::euclidean
                                 ? gallery_rows.pow(2).sum(1).unsqueeze(0)  // [1, Ng]
                                 : torch::Tensor();

  for (std::int64_t start = 0; start < num_query; start += chunk_rows) {
    const auto rows = query_rows.narrow(0, start, std::min(chunk_rows, num_query - start));
    torch::Tensor chunk;
    if (metric == Metric::cosine) {
      chunk = torch::mm(unit_rows(rows), gallery_rows.t()).neg_().add_(1.0);
    } else {
      chunk = (rows.pow(2).sum(1, /*keepdim=*/true) + gallery_norms)
                  .addmm_(rows, gallery_rows.t(), /*beta=*/1.0, /*alpha=*/-2.0)
                  .clamp_min_(0.0);
    }
    result.narrow(0, start, rows.size(0)).copy_(chunk);
  }
  return result;
}

}  // namespace fgreid::eval
