#include <fgreid/detail/canvas.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/pictures.hpp>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <stdexcept>

namespace fgreid::eval {

using detail::kPalette;
using detail::write_png;

namespace {

cv::Scalar bgr(const std::uint8_t (&colour)[3]) { return {double(colour[0]), double(colour[1]), double(colour[2])}; }

/// Text centred horizontally on `centre_x` with its baseline at `baseline_y`.
void centred_text(cv::Mat& image, const std::string& text, int centre_x, int baseline_y,
                  double scale, const cv::Scalar& colour, int thickness = 1) {
  int base = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base);
  cv::putText(image, text, {centre_x - size.width / 2, baseline_y}, cv::FONT_HERSHEY_SIMPLEX,
              scale, colour, thickness, cv::LINE_AA);
}

}  // namespace

void write_cmc_plot(const std::filesystem::path& png, std::span<const CmcCurve> curves,
                    int max_rank, const std::string& title) {
  if (curves.empty()) throw std::invalid_argument("write_cmc_plot: no curves");
  if (max_rank < 1) throw std::invalid_argument(fmt::format("write_cmc_plot: max_rank {} < 1", max_rank));
  cv::Mat image(kCmcPlotHeight, kCmcPlotWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  const cv::Scalar black(0, 0, 0), grid(225, 225, 225), dark(70, 70, 70);
  const int left = 90, right = kCmcPlotWidth - 30, top = 60, bottom = kCmcPlotHeight - 80;

  // The y range: a multiple of 10 % below the lowest value shown, up to 100 %.
  double lowest = 1.0;
  for (const CmcCurve& curve : curves)
    for (std::size_t k = 0; k < std::min<std::size_t>(curve.cmc.size(), max_rank); ++k)
      lowest = std::min(lowest, curve.cmc[k]);
  const double y_min = std::clamp(std::floor(lowest * 10) / 10, 0.0, 0.9);
  auto x_of = [&](double rank) {
    const double span = std::max(1, max_rank - 1);
    return left + static_cast<int>(std::lround((rank - 1) / span * (right - left)));
  };
  auto y_of = [&](double rate) {
    return bottom - static_cast<int>(std::lround((rate - y_min) / (1.0 - y_min) * (bottom - top)));
  };

  // Grid and ticks.
  for (int step = 0; step <= 10; ++step) {
    const double rate = y_min + (1.0 - y_min) * step / 10.0;
    const int y = y_of(rate);
    cv::line(image, {left, y}, {right, y}, grid, 1);
    cv::line(image, {left - 5, y}, {left, y}, black, 1);
    const std::string label = fmt::format("{:.0f}", rate * 100);
    int base = 0;
    const auto size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &base);
    cv::putText(image, label, {left - 10 - size.width, y + size.height / 2},
                cv::FONT_HERSHEY_SIMPLEX, 0.5, dark, 1, cv::LINE_AA);
  }
  const int rank_step = max_rank <= 10 ? 1 : max_rank <= 25 ? 5 : 10;
  std::vector<int> ticks = {1};
  for (int rank = rank_step; rank <= max_rank; rank += rank_step)
    if (rank != 1) ticks.push_back(rank);
  for (const int rank : ticks) {
    const int x = x_of(rank);
    cv::line(image, {x, top}, {x, bottom}, grid, 1);
    cv::line(image, {x, bottom}, {x, bottom + 5}, black, 1);
    centred_text(image, std::to_string(rank), x, bottom + 22, 0.5, dark);
  }
  cv::rectangle(image, {left, top}, {right, bottom}, black, 1);
  centred_text(image, "Rank", (left + right) / 2, kCmcPlotHeight - 25, 0.65, black);
  centred_text(image, title, (left + right) / 2, 38, 0.8, black, 2);
  {  // the y label, rotated: drawn on its own canvas, turned, copied in
    const std::string label = "Matching rate (%)";
    int base = 0;
    const auto size = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.65, 1, &base);
    cv::Mat text(size.height + base + 4, size.width + 4, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(text, label, {2, size.height + 2}, cv::FONT_HERSHEY_SIMPLEX, 0.65, black, 1,
                cv::LINE_AA);
    cv::Mat turned;
    cv::rotate(text, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
    const int y = (top + bottom) / 2 - turned.rows / 2;
    turned.copyTo(image(cv::Rect(14, y, turned.cols, turned.rows)));
  }

  // Curves, then the legend in the lower right, which CMC curves leave empty: they climb
  // toward 100 % as the rank grows.
  for (std::size_t c = 0; c < curves.size(); ++c) {
    const cv::Scalar colour = kPalette[c % std::size(kPalette)];
    std::vector<cv::Point> points;
    for (std::size_t k = 0; k < std::min<std::size_t>(curves[c].cmc.size(), max_rank); ++k)
      points.emplace_back(x_of(static_cast<double>(k + 1)), y_of(curves[c].cmc[k]));
    if (points.size() > 1) cv::polylines(image, points, false, colour, 2, cv::LINE_AA);
    for (const cv::Point& point : points) cv::circle(image, point, 3, colour, cv::FILLED, cv::LINE_AA);
  }
  const int line_height = 24;
  int legend_width = 0;
  for (const CmcCurve& curve : curves) {
    int base = 0;
    const std::string text = curve.cmc.empty()
                                 ? curve.label
                                 : fmt::format("{} (R1 {:.1f}%)", curve.label, curve.cmc[0] * 100);
    legend_width = std::max(legend_width,
                            cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, 0.55, 1, &base).width);
  }
  legend_width += 50;
  const int legend_height = line_height * static_cast<int>(curves.size()) + 10;
  const cv::Point legend_origin(right - legend_width - 12, bottom - legend_height - 12);
  cv::rectangle(image, legend_origin, legend_origin + cv::Point(legend_width, legend_height),
                cv::Scalar(255, 255, 255), cv::FILLED);
  cv::rectangle(image, legend_origin, legend_origin + cv::Point(legend_width, legend_height),
                dark, 1);
  for (std::size_t c = 0; c < curves.size(); ++c) {
    const cv::Scalar colour = kPalette[c % std::size(kPalette)];
    const int y = legend_origin.y + 20 + line_height * static_cast<int>(c);
    cv::line(image, {legend_origin.x + 8, y - 5}, {legend_origin.x + 36, y - 5}, colour, 2,
             cv::LINE_AA);
    const std::string text = curves[c].cmc.empty()
                                 ? curves[c].label
                                 : fmt::format("{} (R1 {:.1f}%)", curves[c].label,
                                               curves[c].cmc[0] * 100);
    cv::putText(image, text, {legend_origin.x + 44, y}, cv::FONT_HERSHEY_SIMPLEX, 0.55, black, 1,
                cv::LINE_AA);
  }
  write_png(png, image);
}

std::pair<int, int> rank_grid_size(std::size_t rows, std::size_t top_k, const GridLayout& layout) {
  const int framed_width = layout.tile_width + 2 * layout.border;
  const int framed_height = layout.tile_height + 2 * layout.border;
  const auto k = static_cast<int>(top_k);
  const int width = layout.gap + framed_width + layout.query_gap + k * framed_width +
                    std::max(0, k - 1) * layout.gap + layout.gap;
  const int height = layout.gap + static_cast<int>(rows) * (framed_height + layout.caption + layout.gap);
  return {width, height};
}

std::pair<int, int> rank_grid_frame_origin(std::size_t row, std::size_t column,
                                           const GridLayout& layout) {
  const int framed_width = layout.tile_width + 2 * layout.border;
  const int framed_height = layout.tile_height + 2 * layout.border;
  int x = layout.gap;
  if (column > 0)
    x += framed_width + layout.query_gap + static_cast<int>(column - 1) * (framed_width + layout.gap);
  const int y = layout.gap + static_cast<int>(row) * (framed_height + layout.caption + layout.gap);
  return {x, y};
}

void write_rank_grid(const std::filesystem::path& png, std::span<const RankedQuery> rows,
                     const GridLayout& layout) {
  if (rows.empty()) throw std::invalid_argument("write_rank_grid: no rows");
  const std::size_t top_k = rows.front().gallery_images.size();
  for (const RankedQuery& row : rows)
    if (row.gallery_images.size() != top_k || row.kinds.size() != top_k)
      throw std::invalid_argument(fmt::format(
          "write_rank_grid: rows of {} images and {} kinds where the first has {}",
          row.gallery_images.size(), row.kinds.size(), top_k));
  const auto [width, height] = rank_grid_size(rows.size(), top_k, layout);
  cv::Mat canvas(height, width, CV_8UC3, cv::Scalar(255, 255, 255));

  auto place = [&](const std::filesystem::path& path, std::size_t row, std::size_t column,
                   const cv::Scalar& frame, bool greyed) {
    cv::Mat image = cv::imread(path.string(), cv::IMREAD_COLOR);
    if (image.empty()) throw DataError(fmt::format("{}: cannot read the image", path.string()));
    cv::Mat tile;
    cv::resize(image, tile, {layout.tile_width, layout.tile_height}, 0, 0, cv::INTER_AREA);
    if (greyed) {  // grey and faded: the metrics do not see these entries
      cv::Mat grey;
      cv::cvtColor(tile, grey, cv::COLOR_BGR2GRAY);
      cv::cvtColor(grey, tile, cv::COLOR_GRAY2BGR);
      tile = tile * 0.5 + cv::Scalar(110, 110, 110);
    }
    const auto [x, y] = rank_grid_frame_origin(row, column, layout);
    const cv::Rect framed(x, y, layout.tile_width + 2 * layout.border,
                          layout.tile_height + 2 * layout.border);
    canvas(framed).setTo(frame);
    tile.copyTo(canvas(cv::Rect(x + layout.border, y + layout.border, layout.tile_width,
                                layout.tile_height)));
    return framed;
  };

  for (std::size_t r = 0; r < rows.size(); ++r) {
    const cv::Rect query = place(rows[r].query_image, r, 0, bgr(kQueryBgr), false);
    centred_text(canvas, "query", query.x + query.width / 2, query.br().y + layout.caption - 4,
                 0.45, cv::Scalar(0, 0, 0));
    for (std::size_t k = 0; k < top_k; ++k) {
      const MatchKind kind = rows[r].kinds[k];
      const cv::Scalar frame = kind == MatchKind::correct ? bgr(kCorrectBgr)
                               : kind == MatchKind::wrong ? bgr(kWrongBgr)
                               : kind == MatchKind::junk  ? bgr(kJunkBgr)
                                                          : bgr(kQueryBgr);
      const cv::Rect framed =
          place(rows[r].gallery_images[k], r, k + 1, frame, kind == MatchKind::junk);
      centred_text(canvas, std::to_string(k + 1), framed.x + framed.width / 2,
                   framed.br().y + layout.caption - 4, 0.45, cv::Scalar(60, 60, 60));
    }
  }
  write_png(png, canvas);
}

RankedIndices rank_gallery(std::span<const float> distance_row, std::int64_t pid,
                           std::int64_t camid, Labels gallery, std::size_t top_k) {
  if (distance_row.size() != gallery.pids.size() || gallery.camids.size() != gallery.pids.size())
    throw std::invalid_argument(fmt::format("rank_gallery: {} distances for {} gallery entries",
                                            distance_row.size(), gallery.pids.size()));
  std::vector<std::size_t> order(distance_row.size());
  std::iota(order.begin(), order.end(), 0);
  const std::size_t shown = std::min(top_k, order.size());
  auto before = [&](std::size_t a, std::size_t b) {
    const float da = distance_row[a], db = distance_row[b];
    if (std::isnan(da) != std::isnan(db)) return std::isnan(db);
    return da < db || (!(db < da) && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(), before);
  RankedIndices ranked;
  for (std::size_t k = 0; k < shown; ++k) {
    const std::size_t g = order[k];
    ranked.gallery.push_back(g);
    ranked.kinds.push_back(gallery.pids[g] != pid      ? MatchKind::wrong
                           : gallery.camids[g] == camid ? MatchKind::junk
                                                        : MatchKind::correct);
  }
  return ranked;
}

std::vector<std::size_t> write_rank_grids(const std::filesystem::path& png,
                                          std::span<const float> distances, Labels query,
                                          Labels gallery,
                                          std::span<const std::filesystem::path> query_images,
                                          std::span<const std::filesystem::path> gallery_images,
                                          std::size_t count, std::size_t top_k,
                                          std::uint64_t seed, const GridLayout& layout) {
  const std::size_t nq = query.pids.size(), ng = gallery.pids.size();
  if (query_images.size() != nq || gallery_images.size() != ng || distances.size() != nq * ng)
    throw std::invalid_argument(fmt::format(
        "write_rank_grids: {} query and {} gallery images, {} distances, for {} × {} entries",
        query_images.size(), gallery_images.size(), distances.size(), nq, ng));
  const auto shown = sample_queries(nq, count, seed);
  std::vector<RankedQuery> rows;
  for (const std::size_t q : shown) {
    const auto ranked =
        rank_gallery(distances.subspan(q * ng, ng), query.pids[q], query.camids[q], gallery, top_k);
    RankedQuery row{query_images[q], {}, ranked.kinds};
    for (const std::size_t g : ranked.gallery) row.gallery_images.push_back(gallery_images[g]);
    rows.push_back(std::move(row));
  }
  write_rank_grid(png, rows, layout);
  return shown;
}

std::vector<std::size_t> sample_queries(std::size_t num_queries, std::size_t count,
                                        std::uint64_t seed) {
  std::vector<std::size_t> all(num_queries);
  std::iota(all.begin(), all.end(), 0);
  std::mt19937_64 random(seed);
  // A partial Fisher-Yates shuffle, so the draw does not depend on the library's shuffle.
  count = std::min(count, num_queries);
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t j = k + static_cast<std::size_t>(random() % (num_queries - k));
    std::swap(all[k], all[j]);
  }
  all.resize(count);
  std::ranges::sort(all);
  return all;
}

}  // namespace fgreid::eval
