#pragma once
// What the PNG pictures share (CMC plots, rank grids, training curves, ROC, checkpoint sweeps):
// colours, line panels and writing.
#include <opencv2/core.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace fgreid::detail {

/// Distinguishable line colours (BGR), after matplotlib's tab10.
inline const cv::Scalar kPalette[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},
                                      {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                      {34, 189, 188},  {207, 190, 23}};

/// One labelled line of a LinePanel: y over x (non-finite y values are gaps).
struct LineSeries {
  std::string label;
  std::vector<double> x, y;
};

/// A titled plot of lines on shared axes, ranged to its data, with 1-2-5 ticks and a legend.
struct LinePanel {
  std::string title, x_label;
  std::vector<LineSeries> series;
};

/// Draws `panel` into `area` of `image` ("no data yet" when it has no finite point).
void draw_line_panel(cv::Mat& image, const cv::Rect& area, const LinePanel& panel);

/// Writes `image` as a PNG through a temporary file and a rename, creating the folder; throws
/// DataError naming `png` when it cannot.
void write_png(const std::filesystem::path& png, const cv::Mat& image);

}  // namespace fgreid::detail
