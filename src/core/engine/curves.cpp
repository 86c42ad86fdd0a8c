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

namespace {

using detail::kPalette;

struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct Panel {
  std::string title, x_label;
  std::vector<Series> series;
};

const cv::Scalar kInk(0, 0, 0), kGrid(225, 225, 225), kDark(70, 70, 70);

/// Tick values at a 1-2-5 step covering [low, high] with about `count` ticks.
std::vector<double> nice_ticks(double low, double high, int count) {
  const double raw = (high - low) / std::max(1, count);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0})
    if (raw <= factor * magnitude) { step = factor * magnitude; break; }
  std::vector<double> ticks;
  for (double t = std::ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

std::string tick_label(double value) {
  if (value != 0 && (std::abs(value) < 1e-2 || std::abs(value) >= 1e5)) return fmt::format("{:.0e}", value);
  return fmt::format("{:g}", value);
}

void draw_panel(cv::Mat& image, const cv::Rect& area, const Panel& panel) {
  const int left = area.x + 80, right = area.x + area.width - 20;
  const int top = area.y + 40, bottom = area.y + area.height - 50;
  cv::putText(image, panel.title, {left, area.y + 26}, cv::FONT_HERSHEY_SIMPLEX, 0.65, kInk, 2,
              cv::LINE_AA);
  double x_low = INFINITY, x_high = -INFINITY, y_low = INFINITY, y_high = -INFINITY;
  for (const auto& s : panel.series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x_low = std::min(x_low, s.x[i]), x_high = std::max(x_high, s.x[i]);
      y_low = std::min(y_low, s.y[i]), y_high = std::max(y_high, s.y[i]);
    }
  cv::rectangle(image, {left, top}, {right, bottom}, kInk, 1);
  if (!std::isfinite(x_low)) {
    cv::putText(image, "no data yet", {left + 20, (top + bottom) / 2}, cv::FONT_HERSHEY_SIMPLEX,
                0.55, kDark, 1, cv::LINE_AA);
    return;
  }
  if (x_high == x_low) x_high = x_low + 1;
  if (y_high == y_low) y_high = y_low + (y_low == 0 ? 1 : std::abs(y_low) * 0.1);
  const double pad = (y_high - y_low) * 0.05;
  y_low -= pad, y_high += pad;
  auto x_of = [&](double x) { return left + static_cast<int>(std::lround((x - x_low) / (x_high - x_low) * (right - left))); };
  auto y_of = [&](double y) { return bottom - static_cast<int>(std::lround((y - y_low) / (y_high - y_low) * (bottom - top))); };
  for (double t : nice_ticks(y_low, y_high, 5)) {
    const int y = y_of(t);
    cv::line(image, {left + 1, y}, {right - 1, y}, kGrid, 1);
    const auto label = tick_label(t);
    int base = 0;
    const auto size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.45, 1, &base);
    cv::putText(image, label, {left - 8 - size.width, y + size.height / 2}, cv::FONT_HERSHEY_SIMPLEX,
                0.45, kDark, 1, cv::LINE_AA);
  }
  for (double t : nice_ticks(x_low, x_high, 8)) {
    const int x = x_of(t);
    cv::line(image, {x, bottom}, {x, bottom + 5}, kInk, 1);
    const auto label = tick_label(t);
    int base = 0;
    const auto size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.45, 1, &base);
    cv::putText(image, label, {x - size.width / 2, bottom + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
                kDark, 1, cv::LINE_AA);
  }
  cv::putText(image, panel.x_label, {(left + right) / 2 - 30, bottom + 42}, cv::FONT_HERSHEY_SIMPLEX,
              0.55, kInk, 1, cv::LINE_AA);
  for (std::size_t c = 0; c < panel.series.size(); ++c) {
    const auto& s = panel.series[c];
    const cv::Scalar colour = kPalette[c % std::size(kPalette)];
    std::vector<cv::Point> points;
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) points.emplace_back(x_of(s.x[i]), y_of(s.y[i]));
    if (points.size() > 1) cv::polylines(image, points, false, colour, 2, cv::LINE_AA);
    if (points.size() < 40)
      for (const auto& point : points) cv::circle(image, point, 3, colour, cv::FILLED, cv::LINE_AA);
    // Legend: one line per series along the panel's top right.
    const int y = top + 18 + 20 * static_cast<int>(c);
    cv::line(image, {right - 190, y - 5}, {right - 165, y - 5}, colour, 2, cv::LINE_AA);
    cv::putText(image, s.label, {right - 158, y}, cv::FONT_HERSHEY_SIMPLEX, 0.5, kInk, 1, cv::LINE_AA);
  }
}

}  // namespace

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
  draw_panel(image, {0, 0, kWidth, kPanelHeight}, loss);
  draw_panel(image, {0, kPanelHeight, kWidth, kPanelHeight}, lr);
  draw_panel(image, {0, 2 * kPanelHeight, kWidth, kPanelHeight}, metrics);
  detail::write_png(png, image);
}

}  // namespace fgreid::engine
