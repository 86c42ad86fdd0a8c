#include <fgreid/error.hpp>
#include <fgreid/eval/search.hpp>
#include <fgreid/eval/suite.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <stdexcept>

namespace fgreid::eval {

namespace {

torch::Tensor unit_rows(const torch::Tensor& rows) {
  return torch::nn::functional::normalize(rows, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

/// The query side of pairwise_distances' formulas, prepared once for every block.
struct PreparedQuery {
  torch::Tensor rows;   ///< [Nq, D] (unit rows for cosine)
  torch::Tensor norms;  ///< [Nq, 1] squared norms (Euclidean)
};

PreparedQuery prepare(const torch::Tensor& query, Metric metric, torch::Device device) {
  const auto rows = query.to(device, torch::kFloat);
  if (metric == Metric::cosine) return {unit_rows(rows), {}};
  return {rows, rows.pow(2).sum(1, /*keepdim=*/true)};
}

/// ‖g‖² of each row, `pow(2).sum(1)` as pairwise_distances computes it, a slice of rows at a
/// time: the squares of a whole 65536 × 2048 block would be another block's memory.
torch::Tensor squared_norms(const torch::Tensor& block) {
  constexpr std::int64_t kSlice = 4096;
  auto norms = torch::empty({block.size(0)}, block.options());
  for (std::int64_t first = 0; first < block.size(0); first += kSlice) {
    const auto rows = std::min(kSlice, block.size(0) - first);
    norms.narrow(0, first, rows).copy_(block.narrow(0, first, rows).pow(2).sum(1));
  }
  return norms;
}

/// Distances [Nq, B] to a gallery block on its device, by pairwise_distances' formulas (squared
/// Euclidean ‖q‖² + ‖g‖² − 2 q·g clamped at 0, or 1 − cosine), so that top-K stays there.
torch::Tensor block_distances(const PreparedQuery& query, const torch::Tensor& block, Metric metric) {
  if (metric == Metric::cosine) return torch::mm(query.rows, unit_rows(block).t()).neg_().add_(1.0);
  return (query.norms + squared_norms(block).unsqueeze(0))
      .addmm_(query.rows, block.t(), /*beta=*/1.0, /*alpha=*/-2.0)
      .clamp_min_(0.0);
}

/// The `k` best of candidate columns, ordered by distance, equal distances by gallery index.
TopK best_of(const torch::Tensor& distances, const torch::Tensor& indices, std::int64_t k) {
  const auto by_index = indices.argsort(/*dim=*/std::int64_t{1});
  const auto sorted_indices = indices.gather(1, by_index);
  const auto sorted_distances = distances.gather(1, by_index);
  const auto [ordered, order] = torch::sort(sorted_distances, /*stable=*/true, /*dim=*/1, /*descending=*/false);
  const auto keep = std::min<std::int64_t>(k, ordered.size(1));
  return {sorted_indices.gather(1, order).narrow(1, 0, keep), ordered.narrow(1, 0, keep)};
}

void check_k(std::int64_t top_k) {
  if (top_k < 1) throw std::invalid_argument(fmt::format("top-K search: top_k {} < 1", top_k));
}

}  // namespace

TopK search_top_k(const torch::Tensor& query, NpyReader& gallery, std::int64_t top_k, Metric metric,
                  torch::Device device, std::int64_t block_rows, const SearchProgress& progress) {
  check_k(top_k);
  if (block_rows < 1) throw std::invalid_argument(fmt::format("top-K search: block_rows {} < 1", block_rows));
  if (query.dim() != 2 || gallery.cols() != query.size(1))
    throw DataError(fmt::format("{}: {}-D gallery features, but the queries are {}-D", gallery.path().string(),
                                gallery.cols(), query.dim() == 2 ? query.size(1) : -1));
  torch::NoGradGuard no_grad;
  const auto prepared = prepare(query, metric, device);
  const auto rows = gallery.rows(), dim = gallery.cols();
  const auto read_block = [&gallery, rows, dim, block_rows, device](std::int64_t first) {
    const auto count = std::min(block_rows, rows - first);
    auto block = torch::empty({count, dim}, torch::TensorOptions(torch::kFloat).pinned_memory(device.is_cuda()));
    gallery.read(first, std::span<float>(block.data_ptr<float>(), static_cast<std::size_t>(block.numel())));
    return block;
  };
  auto best = TopK{torch::empty({query.size(0), 0}, torch::TensorOptions(torch::kLong).device(device)),
                   torch::empty({query.size(0), 0}, torch::TensorOptions(torch::kFloat).device(device))};
  // The next block is read from disk while this one is searched.
  auto next = std::async(std::launch::async, read_block, std::int64_t{0});
  for (std::int64_t first = 0; first < rows; first += block_rows) {
    const auto block = next.get().to(device, /*non_blocking=*/true);
    if (first + block_rows < rows) next = std::async(std::launch::async, read_block, first + block_rows);
    const auto distances = block_distances(prepared, block, metric);
    const auto [values, columns] = distances.topk(std::min(top_k, block.size(0)), 1, /*largest=*/false,
                                                  /*sorted=*/false);
    best = best_of(torch::cat({best.distances, values}, 1), torch::cat({best.indices, columns + first}, 1),
                   top_k);
    if (progress) progress(first + block.size(0), rows);
  }
  return {best.indices.cpu(), best.distances.cpu()};
}

TopK top_k_of(const torch::Tensor& distances, std::int64_t top_k) {
  check_k(top_k);
  const auto indices = torch::arange(distances.size(1), torch::TensorOptions(torch::kLong).device(distances.device()))
                           .unsqueeze(0)
                           .expand({distances.size(0), distances.size(1)});
  const auto best = best_of(distances, indices.contiguous(), top_k);
  return {best.indices.cpu(), best.distances.cpu()};
}

TopK rerank_top_k(const torch::Tensor& query, const torch::Tensor& gallery, std::int64_t top_k,
                  Metric metric, const RerankOptions& options) {
  const FeatureRerankSource source(query.to(torch::kFloat), gallery.to(torch::kFloat), metric);
  auto distances = rerank(source, options);
  const auto matrix = torch::from_blob(distances.data(), {query.size(0), gallery.size(0)}, torch::kFloat);
  return top_k_of(matrix, top_k);
}

}  // namespace fgreid::eval
