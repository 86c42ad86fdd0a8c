#include <fgreid/detail/canvas.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace fgreid::detail {

void write_png(const std::filesystem::path& png, const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes))
    throw DataError(fmt::format("{}: cannot encode the PNG", png.string()));
  std::error_code ignored;
  if (png.has_parent_path()) std::filesystem::create_directories(png.parent_path(), ignored);
  write_file_atomically(png, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

namespace {

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

}  // namespace

void draw_line_panel(cv::Mat& image, const cv::Rect& area, const LinePanel& panel) {
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
  int legend_width = 0;
  for (const auto& s : panel.series) {
    int base = 0;
    legend_width = std::max(legend_width, cv::getTextSize(s.label, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &base).width);
  }
  for (std::size_t c = 0; c < panel.series.size(); ++c) {
    const auto& s = panel.series[c];
    const cv::Scalar colour = kPalette[c % std::size(kPalette)];
    std::vector<cv::Point> points;
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) points.emplace_back(x_of(s.x[i]), y_of(s.y[i]));
    if (points.size() > 1) cv::polylines(image, points, false, colour, 2, cv::LINE_AA);
    if (points.size() < 40)
      for (const auto& point : points) cv::circle(image, point, 3, colour, cv::FILLED, cv::LINE_AA);
    // Legend: one line per series along the panel's top right, as wide as its longest label.
    const int y = top + 18 + 20 * static_cast<int>(c);
    const int text_x = right - 8 - legend_width;
    cv::line(image, {text_x - 32, y - 5}, {text_x - 7, y - 5}, colour, 2, cv::LINE_AA);
    cv::putText(image, s.label, {text_x, y}, cv::FONT_HERSHEY_SIMPLEX, 0.5, kInk, 1, cv::LINE_AA);
  }
}


}  // namespace fgreid::detail
