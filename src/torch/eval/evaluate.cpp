#include <fgreid/eval/evaluate.hpp>
#include <fgreid/eval/metrics.hpp>

#include <span>

namespace fgreid::eval {

namespace {
std::span<const std::int64_t> values_of(const torch::Tensor& contiguous_longs) {
  return {contiguous_longs.data_ptr<std::int64_t>(),
          static_cast<std::size_t>(contiguous_longs.numel())};
}
torch::Tensor as_cpu_longs(const torch::Tensor& labels) {
  return labels.to(torch::kCPU, torch::kLong).contiguous();
}
}  // namespace

nlohmann::json evaluate_features(const FeatureSet& features, Metric metric, int max_rank) {
  const auto distances =
      pairwise_distances(features.query_features, features.gallery_features, metric).contiguous();
  const auto query_pids = as_cpu_longs(features.query_pids);
  const auto query_camids = as_cpu_longs(features.query_camids);
  const auto gallery_pids = as_cpu_longs(features.gallery_pids);
  const auto gallery_camids = as_cpu_longs(features.gallery_camids);
  const Metrics metrics = evaluate_market(
      {distances.data_ptr<float>(), static_cast<std::size_t>(distances.numel())},
      Labels{values_of(query_pids), values_of(query_camids)},
      Labels{values_of(gallery_pids), values_of(gallery_camids)}, max_rank);
  return to_json(metrics);
}

}  // namespace fgreid::eval
