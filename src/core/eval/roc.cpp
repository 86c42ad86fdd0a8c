#include <fgreid/detail/canvas.hpp>
#include <fgreid/eval/roc.hpp>

#include <fmt/format.h>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace fgreid::eval {

RocCurve roc_curve(std::span<const float> distances, Labels query, Labels gallery) {
  const std::size_t nq = query.pids.size(), ng = gallery.pids.size();
  if (distances.size() != nq * ng || query.camids.size() != nq || gallery.camids.size() != ng)
    throw std::invalid_argument(fmt::format("roc_curve: {} distances for {} queries × {} gallery items",
                                            distances.size(), nq, ng));
  // (distance, genuine) of every pair kept, sorted by distance.
  std::vector<std::pair<float, bool>> pairs;
  pairs.reserve(distances.size());
  for (std::size_t q = 0; q < nq; ++q)
    for (std::size_t g = 0; g < ng; ++g) {
      const bool same_id = query.pids[q] == gallery.pids[g];
      if (same_id && query.camids[q] == gallery.camids[g]) continue;
      pairs.emplace_back(distances[q * ng + g], same_id);
    }
  std::ranges::sort(pairs, {}, &std::pair<float, bool>::first);
  RocCurve roc;
  for (const auto& pair : pairs) (pair.second ? roc.genuine_pairs : roc.impostor_pairs) += 1;
  if (roc.genuine_pairs == 0 || roc.impostor_pairs == 0)
    throw std::invalid_argument(fmt::format("roc_curve: {} genuine and {} impostor pairs; an ROC needs both",
                                            roc.genuine_pairs, roc.impostor_pairs));
  roc.fpr.push_back(0), roc.tpr.push_back(0);
  std::size_t genuine = 0, impostor = 0;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    (pairs[i].second ? genuine : impostor) += 1;
    if (i + 1 < pairs.size() && pairs[i + 1].first == pairs[i].first) continue;  // one point per threshold
    roc.fpr.push_back(static_cast<double>(impostor) / static_cast<double>(roc.impostor_pairs));
    roc.tpr.push_back(static_cast<double>(genuine) / static_cast<double>(roc.genuine_pairs));
  }
  return roc;
}

double tpr_at_fpr(const RocCurve& roc, double fpr) {
  // FPR and TPR both grow along the curve: the last point within the rate is the best.
  const auto end = std::ranges::upper_bound(roc.fpr, fpr);
  if (end == roc.fpr.begin()) return 0;
  return roc.tpr[static_cast<std::size_t>(end - roc.fpr.begin()) - 1];
}

nlohmann::json to_json(const RocCurve& roc) {
  nlohmann::json json;
  for (const double fpr : kRocFprs) json[fmt::format("TPR@FPR={:.0e}", fpr)] = tpr_at_fpr(roc, fpr);
  double auc = 0;
  for (std::size_t i = 1; i < roc.fpr.size(); ++i)
    auc += (roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1]) / 2;
  json["auc"] = auc;
  json["genuine_pairs"] = roc.genuine_pairs;
  json["impostor_pairs"] = roc.impostor_pairs;
  return json;
}

void write_roc_plot(const std::filesystem::path& png, const RocCurve& roc, const std::string& title) {
  double smallest = 1;
  for (const double fpr : roc.fpr)
    if (fpr > 0) smallest = std::min(smallest, fpr);
  const double floor = std::min(1e-6, smallest);
  detail::LineSeries curve{"ROC", {}, {}};
  for (std::size_t i = 0; i < roc.fpr.size(); ++i) {
    curve.x.push_back(std::log10(std::max(roc.fpr[i], floor)));
    curve.y.push_back(roc.tpr[i]);
  }
  detail::LinePanel panel{title, "log10 FPR (impostor pairs accepted)", {std::move(curve)}};
  for (const double fpr : kRocFprs)
    panel.series.push_back({fmt::format("TPR {:.3f} @ FPR {:.0e}", tpr_at_fpr(roc, fpr), fpr),
                            {std::log10(fpr)}, {tpr_at_fpr(roc, fpr)}});
  cv::Mat image(600, 900, CV_8UC3, cv::Scalar(255, 255, 255));
  detail::draw_line_panel(image, {0, 0, 900, 600}, panel);
  detail::write_png(png, image);
}

}  // namespace fgreid::eval
