#pragma once
// What the PNG pictures share (CMC plots, rank grids, training curves): colours and writing.
#include <opencv2/core.hpp>

#include <filesystem>

namespace fgreid::detail {

/// Distinguishable line colours (BGR), after matplotlib's tab10.
inline const cv::Scalar kPalette[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},
                                      {189, 103, 148}, {75, 86, 140},  {194, 119, 227}, {127, 127, 127},
                                      {34, 189, 188},  {207, 190, 23}};

/// Writes `image` as a PNG through a temporary file and a rename, creating the folder; throws
/// DataError naming `png` when it cannot.
void write_png(const std::filesystem::path& png, const cv::Mat& image);

}  // namespace fgreid::detail
