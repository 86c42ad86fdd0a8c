#include <fgreid/eval/query_expansion.hpp>

#include <fmt/format.h>

#include <stdexcept>

namespace fgreid::eval {

namespace {

torch::Tensor unit_rows(const torch::Tensor& rows) {
  return torch::nn::functional::normalize(rows, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

/// One round: rows a block at a time, so the N × N similarities are never held at once.
torch::Tensor expand_once(const torch::Tensor& features, int k, double alpha) {
  constexpr std::int64_t kBlock = 1024;
  const auto unit = unit_rows(features);
  auto expanded = torch::empty_like(features);
  for (std::int64_t begin = 0; begin < features.size(0); begin += kBlock) {
    const auto rows = std::min(kBlock, features.size(0) - begin);
    const auto similarity = torch::mm(unit.narrow(0, begin, rows), unit.t());
    const auto [weights, neighbours] = similarity.topk(k, /*dim=*/1);
    const auto gathered = features.index_select(0, neighbours.reshape(-1)).view({rows, k, -1});
    expanded.narrow(0, begin, rows).copy_((gathered * weights.pow(alpha).unsqueeze(2)).mean(1));
  }
  return expanded;
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> expand_queries(const torch::Tensor& query,
                                                       const torch::Tensor& gallery,
                                                       const QueryExpansion& options) {
  torch::NoGradGuard no_grad;
  const auto total = query.size(0) + gallery.size(0);
  if (options.k < 1 || options.k > total)
    throw std::invalid_argument(fmt::format("--aqe-k {}: must be in 1..{} (queries + gallery)", options.k, total));
  if (options.times < 1)
    throw std::invalid_argument(fmt::format("--aqe-times {}: must be at least 1", options.times));
  auto features = torch::cat({query.to(torch::kFloat), gallery.to(gallery.device(), torch::kFloat)});
  for (int round = 0; round < options.times; ++round) features = expand_once(features, options.k, options.alpha);
  return {features.narrow(0, 0, query.size(0)), features.narrow(0, query.size(0), gallery.size(0))};
}

}  // namespace fgreid::eval
