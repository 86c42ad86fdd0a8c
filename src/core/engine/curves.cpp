#include <fgreid/detail/canvas.hpp>
#include <fgreid/engine/curves.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fgreid::engine {

using detail::draw_line_panel;
using Panel = detail::LinePanel;

void write_training_curves(const std::filesystem::path& log, const std::filesystem::path& png) {
  std::ifstream in(log);
  if (!in) throw DataError(fmt::format("{}: cannot read the log", log.string()));
  Panel loss{"Training loss", "iteration", {}}, lr{"Learning rate", "iteration", {}},
      metrics{"Evaluation", "epoch", {{"rank-1", {}, {}}, {"mAP", {}, {}}}};
  std::map<std::string, std::size_t> term_index;
  lr.series.push_back({"lr", {}, {}});
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) continue;  // a line cut short by a crash
    if (record.contains("evaluation")) {
      const auto& e = record["evaluation"];
      if (!e.contains("epoch")) continue;
      const double epoch = e["epoch"].get<double>();
      metrics.series[0].x.push_back(epoch), metrics.series[0].y.push_back(e.value("rank1", NAN));
      metrics.series[1].x.push_back(epoch), metrics.series[1].y.push_back(e.value("mAP", NAN));
      continue;
    }
    if (!record.contains("global_iteration")) continue;
    const double x = record["global_iteration"].get<double>();
    lr.series[0].x.push_back(x), lr.series[0].y.push_back(record.value("lr", NAN));
    for (const auto& [key, value] : record.items()) {
      static const std::vector<std::string> skip = {"epoch", "iteration", "iterations",
                                                    "global_iteration", "lr", "images_per_s",
                                                    "data_wait"};
      if (!value.is_number() || std::ranges::find(skip, key) != skip.end()) continue;
      auto [it, added] = term_index.try_emplace(key, loss.series.size());
      if (added) loss.series.push_back({key, {}, {}});
      loss.series[it->second].x.push_back(x), loss.series[it->second].y.push_back(value.get<double>());
    }
  }
  constexpr int kWidth = 900, kPanelHeight = 320;
  cv::Mat image(3 * kPanelHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  draw_line_panel(image, {0, 0, kWidth, kPanelHeight}, loss);
  draw_line_panel(image, {0, kPanelHeight, kWidth, kPanelHeight}, lr);
  draw_line_panel(image, {0, 2 * kPanelHeight, kWidth, kPanelHeight}, metrics);
  detail::write_png(png, image);
}

}  // namespace fgreid::engine
