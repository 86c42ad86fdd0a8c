#pragma once
// Pictures of an evaluation, drawn with OpenCV (no LibTorch): CMC curves and ranked-retrieval
// grids.
#include <fgreid/eval/metrics.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace fgreid::eval {

/// One labelled CMC curve; cmc[k] is the matching rate at rank k + 1, in [0, 1].
struct CmcCurve {
  std::string label;
  std::vector<double> cmc;
};

/// Width and height of the CMC plot in pixels.
inline constexpr int kCmcPlotWidth = 900;
inline constexpr int kCmcPlotHeight = 600;

/// Draws `curves` over ranks 1..max_rank (shorter curves stop early) on labelled axes
/// (rank, matching rate in %) with a legend, and writes a PNG. Throws std::invalid_argument
/// on no curves or max_rank < 1, DataError when the file cannot be written.
void write_cmc_plot(const std::filesystem::path& png, std::span<const CmcCurve> curves,
                    int max_rank = 50, const std::string& title = "CMC");

/// How a ranked gallery entry relates to its query.
enum class MatchKind {
  correct,  ///< same identity, another camera: green border
  wrong,    ///< another identity: red border
  junk,     ///< same identity and camera (ignored by the metrics): greyed, grey border
  unlabelled,  ///< no identities to judge by (fgreid_search): the query's dark border
};

/// One row of a ranked-retrieval grid.
struct RankedQuery {
  std::filesystem::path query_image;
  std::vector<std::filesystem::path> gallery_images;  ///< best first
  std::vector<MatchKind> kinds;                        ///< one per gallery image
};

/// Geometry of a grid: every image is resized to a tile, framed by a border; the query's
/// tile comes first, then a wider gap, then the ranked gallery.
struct GridLayout {
  int tile_width = 64;
  int tile_height = 128;
  int border = 4;        ///< frame width around each tile
  int gap = 6;           ///< between framed tiles
  int query_gap = 24;    ///< between the query and rank 1
  int caption = 18;      ///< text line under each row's tiles (rank numbers)
};

/// Colours (BGR) of the frames.
inline constexpr std::uint8_t kCorrectBgr[3] = {0, 190, 0};
inline constexpr std::uint8_t kWrongBgr[3] = {0, 0, 220};
inline constexpr std::uint8_t kJunkBgr[3] = {150, 150, 150};
inline constexpr std::uint8_t kQueryBgr[3] = {40, 40, 40};

/// Pixel size {width, height} of a grid of `rows` queries with `top_k` gallery images each.
[[nodiscard]] std::pair<int, int> rank_grid_size(std::size_t rows, std::size_t top_k,
                                                 const GridLayout& layout = {});

/// Top-left corner {x, y} of the frame of row `row`, column `column` (0 = the query,
/// k = rank k).
[[nodiscard]] std::pair<int, int> rank_grid_frame_origin(std::size_t row, std::size_t column,
                                                         const GridLayout& layout = {});

/// Writes the grid as a PNG: one row per query, gallery images framed by MatchKind and
/// numbered by rank. All rows must have the same number of gallery images. Throws
/// std::invalid_argument on empty or uneven rows, DataError naming an image that cannot be
/// read, or the PNG when it cannot be written.
void write_rank_grid(const std::filesystem::path& png, std::span<const RankedQuery> rows,
                     const GridLayout& layout = {});

/// The top_k gallery indices of one query's distance row (stable order) with their kinds:
/// what write_rank_grid shows. Junk entries are kept in place, greyed, so the picture shows
/// what the metrics skip.
struct RankedIndices {
  std::vector<std::size_t> gallery;
  std::vector<MatchKind> kinds;
};
[[nodiscard]] RankedIndices rank_gallery(std::span<const float> distance_row, std::int64_t pid,
                                         std::int64_t camid, Labels gallery, std::size_t top_k);

/// The whole `--visualize-ranks` step: `count` queries drawn by `seed` (sample_queries), each
/// with its top_k gallery images under `distances` (Nq × Ng, e.g. SuiteResult's
/// final_distances), written as one grid PNG. Returns the query indices shown. Throws like
/// rank_gallery and write_rank_grid, and std::invalid_argument on path lists that do not fit.
std::vector<std::size_t> write_rank_grids(const std::filesystem::path& png,
                                          std::span<const float> distances, Labels query,
                                          Labels gallery,
                                          std::span<const std::filesystem::path> query_images,
                                          std::span<const std::filesystem::path> gallery_images,
                                          std::size_t count, std::size_t top_k,
                                          std::uint64_t seed, const GridLayout& layout = {});

/// `count` distinct query indices out of `num_queries`, drawn by `seed`, ascending.
[[nodiscard]] std::vector<std::size_t> sample_queries(std::size_t num_queries, std::size_t count,
                                                      std::uint64_t seed);

}  // namespace fgreid::eval
