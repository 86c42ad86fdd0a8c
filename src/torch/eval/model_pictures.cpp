#include <fgreid/engine/files.hpp>
#include <fgreid/detail/canvas.hpp>
#include <fgreid/eval/model_pictures.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace fgreid::eval {

namespace {

const cv::Scalar kBlack(0, 0, 0), kDark(70, 70, 70), kWhite(255, 255, 255), kGrid(232, 232, 232);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

using detail::write_png;

cv::Size text_size(const std::string& text, double scale, int thickness = 1) {
  int base = 0;
  return cv::getTextSize(text, kFont, scale, thickness, &base);
}

void text(cv::Mat& image, const std::string& line, cv::Point at, double scale,
          const cv::Scalar& colour = kBlack, int thickness = 1) {
  cv::putText(image, line, at, kFont, scale, colour, thickness, cv::LINE_AA);
}

/// Text centred on `centre_x`, baseline at `baseline_y`.
void centred(cv::Mat& image, const std::string& line, int centre_x, int baseline_y, double scale,
             const cv::Scalar& colour = kBlack, int thickness = 1) {
  text(image, line, {centre_x - text_size(line, scale, thickness).width / 2, baseline_y}, scale,
       colour, thickness);
}

/// Text shrunk (down to a floor) until it fits `width` pixels.
double fitting_scale(const std::string& line, double scale, int width) {
  while (scale > 0.3 && text_size(line, scale).width > width) scale -= 0.05;
  return scale;
}

// --- attention ----------------------------------------------------------------------------------

/// An entry's image as the loader decodes it, resized to the model's input (BGR, 8 bit).
cv::Mat read_resized(const std::filesystem::path& path, const data::ImageTransform& transform) {
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty())
    throw DataError(std::filesystem::exists(path)
                        ? fmt::format("{}: cannot decode the image (corrupt or not an image)", path.string())
                        : fmt::format("{}: the image file is missing", path.string()));
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(static_cast<int>(transform.width), static_cast<int>(transform.height)),
             0, 0, cv::INTER_LINEAR);
  return resized;
}

/// The frames of an entry drawn: its first image, or its first `frames` (the last repeated).
std::vector<std::filesystem::path> frames_of(const datasets::Entry& entry, std::size_t frames) {
  if (entry.images.empty()) throw DataError("attention overlays: an entry has no images");
  std::vector<std::filesystem::path> out;
  for (std::size_t t = 0; t < frames; ++t) out.push_back(entry.images[std::min(t, entry.images.size() - 1)]);
  return out;
}

/// The overlay of one map [H, W] (already upsampled, double) on `image`: min-max scaled,
/// viridis, alpha-blended.
cv::Mat blend(const cv::Mat& image, const torch::Tensor& upsampled, double alpha) {
  const double low = upsampled.min().item<double>(), high = upsampled.max().item<double>();
  const auto scaled = high > low ? (upsampled - low) / (high - low) : torch::zeros_like(upsampled);
  // matplotlib's lookup: index floor(256 v), the top value folded into the last entry.
  const auto index = (scaled * 256.0).floor().clamp(0, 255).to(torch::kUInt8).contiguous();
  cv::Mat levels(image.rows, image.cols, CV_8UC1, index.data_ptr<std::uint8_t>());
  cv::Mat colour, out;
  cv::applyColorMap(levels, colour, cv::COLORMAP_VIRIDIS);
  cv::addWeighted(colour, alpha, image, 1.0 - alpha, 0.0, out);
  return out;
}

}  // namespace

std::pair<int, int> OverlayGrid::image_origin(std::size_t row, std::size_t column) const {
  const int cell_width = 2 * tile_width + kPairGap, cell_height = tile_height + kCaption;
  return {kMargin + static_cast<int>(column) * (cell_width + kCellGap),
          kMargin + static_cast<int>(row) * (cell_height + kCellGap)};
}

std::pair<int, int> OverlayGrid::overlay_origin(std::size_t row, std::size_t column) const {
  const auto [x, y] = image_origin(row, column);
  return {x + tile_width + kPairGap, y};
}

OverlayGrid overlay_grid(std::int64_t image_height, std::int64_t image_width, std::size_t rows,
                         std::size_t columns, const OverlayStyle& style) {
  if (image_height < 1 || image_width < 1 || rows < 1 || columns < 1)
    throw std::invalid_argument("overlay_grid: empty grid");
  OverlayGrid grid;
  grid.scale = style.scale > 0 ? style.scale
                               : std::max(1, static_cast<int>((255 + image_height) / image_height));
  grid.tile_width = static_cast<int>(image_width) * grid.scale;
  grid.tile_height = static_cast<int>(image_height) * grid.scale;
  const int cell_width = 2 * grid.tile_width + OverlayGrid::kPairGap;
  const int cell_height = grid.tile_height + OverlayGrid::kCaption;
  const int n_columns = static_cast<int>(columns), n_rows = static_cast<int>(rows);
  grid.width = 2 * OverlayGrid::kMargin + n_columns * cell_width + (n_columns - 1) * OverlayGrid::kCellGap;
  grid.height = 2 * OverlayGrid::kMargin + n_rows * cell_height + (n_rows - 1) * OverlayGrid::kCellGap;
  return grid;
}

namespace {

/// write_attention_overlays with the name of the values shown in the captions.
void draw_overlays(const AttentionFunction& attention, Modality input,
                   std::span<const datasets::Entry> entries, std::span<const std::size_t> indices,
                   const data::ImageTransform& transform, const torch::Device& device,
                   const std::filesystem::path& png, const OverlayStyle& style,
                   std::string_view values_name) {
  if (indices.empty()) throw std::invalid_argument("write_attention_overlays: no images chosen");
  for (const std::size_t index : indices)
    if (index >= entries.size())
      throw std::invalid_argument(fmt::format(
          "write_attention_overlays: entry {} out of range ({} entries)", index, entries.size()));
  const bool video = input == Modality::video;
  if (video && style.clip_frames < 1)
    throw std::invalid_argument("write_attention_overlays: clip_frames must be >= 1 for video");
  const std::size_t frames = video ? static_cast<std::size_t>(style.clip_frames) : 1;
  const std::size_t columns = video ? frames : std::min<std::size_t>(std::max(1, style.columns), indices.size());
  const std::size_t rows = video ? indices.size() : (indices.size() + columns - 1) / columns;
  const OverlayGrid grid = overlay_grid(transform.height, transform.width, rows, columns, style);
  cv::Mat canvas(grid.height, grid.width, CV_8UC3, kWhite);

  data::ImageTransform plain = transform;
  plain.flip_probability = 0.0;
  const auto H = transform.height, W = transform.width;
  const std::size_t batch = static_cast<std::size_t>(std::max(1, style.batch_size));
  for (std::size_t start = 0; start < indices.size(); start += batch) {
    const std::size_t count = std::min(batch, indices.size() - start);
    auto inputs = torch::empty({static_cast<std::int64_t>(count * frames), 3, H, W});
    std::vector<cv::Mat> originals;
    for (std::size_t i = 0; i < count; ++i) {
      const auto paths = frames_of(entries[indices[start + i]], frames);
      for (std::size_t t = 0; t < frames; ++t) {
        data::load_image(paths[t], plain, 0, inputs[static_cast<std::int64_t>(i * frames + t)]);
        originals.push_back(read_resized(paths[t], transform));
      }
    }
    if (video) inputs = inputs.view({static_cast<std::int64_t>(count), static_cast<std::int64_t>(frames), 3, H, W});
    torch::Tensor maps;
    {
      torch::NoGradGuard no_grad;
      maps = attention(inputs.to(device)).detach().to(torch::kCPU, torch::kFloat);
    }
    if (maps.dim() != 4 || maps.size(0) != static_cast<std::int64_t>(count) ||
        maps.size(1) != static_cast<std::int64_t>(frames))
      throw std::invalid_argument(fmt::format(
          "write_attention_overlays: the attention map has shape [{}], expected [{}, {}, h, w]",
          fmt::join(maps.sizes(), ", "), count, frames));
    const auto shown = maps.to(torch::kDouble);
    // F.upsample_bilinear, which the seed calls, is bilinear with align_corners=True.
    const auto upsampled = torch::nn::functional::interpolate(
                               shown.reshape({-1, 1, maps.size(2), maps.size(3)}),
                               torch::nn::functional::InterpolateFuncOptions()
                                   .size(std::vector<std::int64_t>{H, W})
                                   .mode(torch::kBilinear)
                                   .align_corners(true))
                               .squeeze(1);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t n = start + i;
      const auto& entry = entries[indices[n]];
      for (std::size_t t = 0; t < frames; ++t) {
        const auto k = static_cast<std::int64_t>(i * frames + t);
        const cv::Mat& image = originals[static_cast<std::size_t>(k)];
        const cv::Mat overlay = blend(image, upsampled[k].contiguous(), style.alpha);
        const std::size_t row = video ? n : n / columns, column = video ? t : n % columns;
        const cv::Size tile(grid.tile_width, grid.tile_height);
        cv::Mat big;
        const auto [ix, iy] = grid.image_origin(row, column);
        cv::resize(image, big, tile, 0, 0, cv::INTER_NEAREST);
        big.copyTo(canvas(cv::Rect(ix, iy, tile.width, tile.height)));
        const auto [ox, oy] = grid.overlay_origin(row, column);
        cv::resize(overlay, big, tile, 0, 0, cv::INTER_NEAREST);
        big.copyTo(canvas(cv::Rect(ox, oy, tile.width, tile.height)));
        // Captions: which image, and the raw range the colours span (the seed's min-max
        // scaling hides it; a flat sigmoid map shows as a narrow range).
        const int cell_width = 2 * grid.tile_width + OverlayGrid::kPairGap;
        const std::string first = video ? fmt::format("#{} pid {} cam {} frame {}", indices[n], entry.pid, entry.camid, t)
                                        : fmt::format("#{} pid {} cam {}", indices[n], entry.pid, entry.camid);
        const auto values = shown[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(t)];
        const std::string second = fmt::format("{} {:.4g} .. {:.4g}", values_name, values.min().item<double>(),
                                               values.max().item<double>());
        const int centre = ix + cell_width / 2, below = iy + grid.tile_height;
        centred(canvas, first, centre, below + 14, fitting_scale(first, 0.45, cell_width), kBlack);
        centred(canvas, second, centre, below + 30, fitting_scale(second, 0.42, cell_width), kDark);
      }
    }
  }
  write_png(png, canvas);
}

}  // namespace

void write_attention_overlays(const AttentionView& view, std::span<const datasets::Entry> entries,
                              std::span<const std::size_t> indices,
                              const data::ImageTransform& transform, const torch::Device& device,
                              const std::filesystem::path& png, const OverlayStyle& style) {
  if (!view) throw std::invalid_argument("write_attention_overlays: no attention map to draw");
  draw_overlays(view.map, view.modality, entries, indices, transform, device, png, style,
                view.values_name);
}

// --- embedding plot -----------------------------------------------------------------------------

Projection2d pca_2d(const torch::Tensor& rows) {
  if (!rows.defined() || rows.dim() != 2 || rows.size(0) < 1)
    throw std::invalid_argument("pca_2d: rows must be [N, D] with N >= 1");
  const auto x = rows.detach().to(torch::kCPU, torch::kDouble);
  const auto centred = x - x.mean(0, /*keepdim=*/true);
  Projection2d out;
  out.points = torch::zeros({x.size(0), 2}, torch::kDouble);
  const double total = centred.square().sum().item<double>();
  if (total <= 0) return out;  // all rows equal: one point at the origin
  const auto [u, s, vh] = torch::linalg_svd(centred, /*full_matrices=*/false);
  const std::int64_t k = std::min<std::int64_t>(2, s.size(0));
  for (std::int64_t c = 0; c < k; ++c) {
    auto axis = vh[c];
    if (axis[axis.abs().argmax()].item<double>() < 0) axis = -axis;
    out.points.select(1, c).copy_(centred.matmul(axis));
    out.explained[static_cast<std::size_t>(c)] = s[c].item<double>() * s[c].item<double>() / total;
  }
  return out;
}

std::array<std::uint8_t, 3> palette_colour(std::size_t slot) {
  // 16 colours that stay distinct on white and from each other (after Trubetskoy's list of 20
  // distinct colours, without its pale ones and its grey, which the grid uses). RGB here.
  static constexpr std::uint8_t kRgb[16][3] = {
      {230, 25, 75},  {60, 180, 75},  {67, 99, 216},  {245, 130, 49}, {145, 30, 180}, {0, 170, 170},
      {240, 50, 230}, {140, 190, 0},  {0, 110, 110},  {154, 99, 36},  {128, 0, 0},    {128, 128, 0},
      {0, 0, 117},    {215, 175, 0},  {255, 105, 180}, {90, 60, 255}};
  const auto& c = kRgb[slot % 16];
  return {c[2], c[1], c[0]};
}

namespace {

cv::Scalar scalar(const std::array<std::uint8_t, 3>& bgr) { return {double(bgr[0]), double(bgr[1]), double(bgr[2])}; }

void draw_marker(cv::Mat& image, cv::Point at, PointKind kind, const cv::Scalar& colour) {
  switch (kind) {
    case PointKind::feature:
      cv::circle(image, at, 4, colour, cv::FILLED, cv::LINE_8);
      break;
    case PointKind::center: {
      const std::vector<cv::Point> triangle{{at.x, at.y - 11}, {at.x - 10, at.y + 7}, {at.x + 10, at.y + 7}};
      cv::fillPoly(image, std::vector<std::vector<cv::Point>>{triangle}, colour, cv::LINE_8);
      cv::polylines(image, triangle, true, kBlack, 1, cv::LINE_AA);
      break;
    }
    case PointKind::classifier_weight: {
      const cv::Rect square(at.x - 7, at.y - 7, 15, 15);
      cv::rectangle(image, square, colour, cv::FILLED, cv::LINE_8);
      cv::rectangle(image, square, kBlack, 1, cv::LINE_8);
      break;
    }
  }
}

/// A tick step of 1, 2 or 5 times a power of ten giving about `count` steps over `span`.
double tick_step(double span, int count) {
  const double raw = span / count, power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

constexpr int kLeft = 80, kRightPad = 24, kTop = 56, kBottomPad = 150;

const char* kind_name(PointKind kind) {
  switch (kind) {
    case PointKind::feature: return "feature";
    case PointKind::center: return "center";
    case PointKind::classifier_weight: return "classifier weight";
  }
  return "";
}

void draw_panel(cv::Mat& canvas, std::size_t index, const EmbeddingPanel& panel,
                const EmbeddingPlotStyle& style) {
  const auto& identities = panel.identities;
  auto colour_of = [&identities](std::int64_t label) {
    const auto slot = std::lower_bound(identities.begin(), identities.end(), label) - identities.begin();
    return scalar(palette_colour(static_cast<std::size_t>(slot)));
  };
  const auto [left, top, right, bottom] = embedding_plot_area(index, style);
  const int x0 = static_cast<int>(index) * style.panel_size;
  centred(canvas, panel.title, (left + right) / 2, 34, fitting_scale(panel.title, 0.65, right - left), kBlack, 1);

  // Equal scales on both axes, so distances read the same in every direction.
  const auto points = panel.projection.points;
  const auto low = std::get<0>(points.min(0)), high = std::get<0>(points.max(0));
  const double lx = low[0].item<double>(), hx = high[0].item<double>();
  const double ly = low[1].item<double>(), hy = high[1].item<double>();
  const double span = std::max({hx - lx, hy - ly, 1e-12}) * 1.12;
  const double cx = (lx + hx) / 2, cy = (ly + hy) / 2;
  const int width = right - left, height = bottom - top;
  const double pixels = std::min(width, height) / span;
  auto px = [&](double v) { return static_cast<int>(std::lround((left + right) / 2.0 + (v - cx) * pixels)); };
  auto py = [&](double v) { return static_cast<int>(std::lround((top + bottom) / 2.0 - (v - cy) * pixels)); };

  const double step = tick_step(std::max(width, height) / pixels, 6);
  const double x_first = std::ceil((cx - width / 2.0 / pixels) / step) * step;
  for (double v = x_first; px(v) <= right; v += step) {
    const int x = px(v);
    if (x < left) continue;
    cv::line(canvas, {x, top}, {x, bottom}, kGrid, 1);
    cv::line(canvas, {x, bottom}, {x, bottom + 5}, kBlack, 1);
    centred(canvas, fmt::format("{:.3g}", std::abs(v) < step / 2 ? 0.0 : v), x, bottom + 22, 0.45, kDark);
  }
  const double y_first = std::ceil((cy - height / 2.0 / pixels) / step) * step;
  for (double v = y_first; py(v) >= top; v += step) {
    const int y = py(v);
    if (y > bottom) continue;
    cv::line(canvas, {left, y}, {right, y}, kGrid, 1);
    cv::line(canvas, {left - 5, y}, {left, y}, kBlack, 1);
    const std::string label = fmt::format("{:.3g}", std::abs(v) < step / 2 ? 0.0 : v);
    text(canvas, label, {left - 9 - text_size(label, 0.45).width, y + 5}, 0.45, kDark);
  }
  cv::rectangle(canvas, {left, top}, {right, bottom}, kBlack, 1);
  centred(canvas, fmt::format("PC1 ({:.1f}% of variance)", 100 * panel.projection.explained[0]),
          (left + right) / 2, bottom + 48, 0.6);
  {  // the y label, drawn on its own canvas and turned
    const std::string label = fmt::format("PC2 ({:.1f}% of variance)", 100 * panel.projection.explained[1]);
    const cv::Size size = text_size(label, 0.6);
    cv::Mat strip(size.height + 10, size.width + 4, CV_8UC3, kWhite);
    text(strip, label, {2, size.height + 3}, 0.6);
    cv::Mat turned;
    cv::rotate(strip, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
    turned.copyTo(canvas(cv::Rect(x0 + 6, (top + bottom) / 2 - turned.rows / 2, turned.cols, turned.rows)));
  }

  // Features first, then classifier weights, then centers on top: the large markers stay visible.
  for (const PointKind kind : {PointKind::feature, PointKind::classifier_weight, PointKind::center})
    for (std::size_t p = 0; p < panel.kinds.size(); ++p)
      if (panel.kinds[p] == kind)
        draw_marker(canvas, {px(points[static_cast<std::int64_t>(p)][0].item<double>()),
                             py(points[static_cast<std::int64_t>(p)][1].item<double>())},
                    kind, colour_of(panel.labels[p]));

  // Legend under the axes: the marker shapes of this panel, then the identities' colours.
  std::set<PointKind> kinds(panel.kinds.begin(), panel.kinds.end());
  int x = left, y = bottom + 82;
  for (const PointKind kind : {PointKind::feature, PointKind::center, PointKind::classifier_weight}) {
    if (!kinds.contains(kind)) continue;
    draw_marker(canvas, {x + 10, y - 5}, kind, kDark);
    text(canvas, kind_name(kind), {x + 26, y}, 0.5);
    x += 46 + text_size(kind_name(kind), 0.5).width;
  }
  x = left;
  y += 30;
  const std::string prefix = "identity:";
  text(canvas, prefix, {x, y}, 0.5);
  x += text_size(prefix, 0.5).width + 10;
  for (const std::int64_t identity : identities) {
    const std::string label = std::to_string(identity);
    const int needed = 20 + text_size(label, 0.45).width + 10;
    if (x + needed > right) {
      x = left;
      y += 22;
      if (y > style.panel_size - 4) break;
    }
    cv::rectangle(canvas, cv::Rect(x, y - 11, 13, 13), colour_of(identity), cv::FILLED);
    text(canvas, label, {x + 17, y}, 0.45);
    x += needed;
  }
}

}  // namespace

std::array<int, 4> embedding_plot_area(std::size_t panel, const EmbeddingPlotStyle& style) {
  const int x0 = static_cast<int>(panel) * style.panel_size;
  return {x0 + kLeft, kTop, x0 + style.panel_size - kRightPad, style.panel_size - kBottomPad};
}

std::vector<EmbeddingPanel> embedding_panels(const torch::Tensor& centers,
                                             const torch::Tensor& classifier_weights,
                                             const torch::Tensor& features,
                                             const torch::Tensor& feature_labels,
                                             const EmbeddingPlotStyle& style) {
  auto check_matrix = [](const torch::Tensor& t, const char* name) {
    if (t.defined() && t.dim() != 2)
      throw std::invalid_argument(fmt::format("embedding plot: {} must be [rows, D], got {} dimensions", name, t.dim()));
  };
  check_matrix(centers, "centers");
  check_matrix(classifier_weights, "classifier_weights");
  check_matrix(features, "features");
  if (centers.defined() && classifier_weights.defined() && centers.size(0) != classifier_weights.size(0))
    throw std::invalid_argument(fmt::format("embedding plot: {} centers but {} classifier rows",
                                            centers.size(0), classifier_weights.size(0)));
  std::vector<std::int64_t> labels;
  if (features.defined()) {
    if (!feature_labels.defined() || feature_labels.numel() != features.size(0))
      throw std::invalid_argument("embedding plot: feature_labels must hold one label per feature row");
    const auto flat = feature_labels.detach().to(torch::kCPU, torch::kLong).contiguous();
    labels.assign(flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel());
  }
  const std::int64_t classes = centers.defined()              ? centers.size(0)
                               : classifier_weights.defined() ? classifier_weights.size(0)
                                                              : -1;
  for (const std::int64_t label : labels)
    if (label < 0 || (classes >= 0 && label >= classes))
      throw std::invalid_argument(fmt::format("embedding plot: feature label {} outside [0, {})", label, classes));

  // The identities drawn: those of the features first (in order of appearance), then the rest.
  std::vector<std::int64_t> identities;
  std::set<std::int64_t> chosen;
  const std::size_t limit = style.max_identities == 0 ? SIZE_MAX : style.max_identities;
  for (const std::int64_t label : labels)
    if (identities.size() < limit && chosen.insert(label).second) identities.push_back(label);
  for (std::int64_t c = 0; c < classes && identities.size() < limit; ++c)
    if (chosen.insert(c).second) identities.push_back(c);
  if (identities.empty()) throw std::invalid_argument("embedding plot: nothing to draw");

  // Group the sets by dimension: each group is one space, one PCA.
  struct Set {
    PointKind kind;
    torch::Tensor rows;
    std::vector<std::int64_t> labels;
  };
  // Insertion order: centers' space first, so the panel order is the same whatever D is.
  std::vector<std::pair<std::int64_t, std::vector<Set>>> spaces;
  auto space = [&spaces](std::int64_t dimension) -> std::vector<Set>& {
    for (auto& [d, sets] : spaces)
      if (d == dimension) return sets;
    return spaces.emplace_back(dimension, std::vector<Set>{}).second;
  };
  const auto ids = torch::tensor(identities, torch::kLong);
  if (centers.defined())
    space(centers.size(1)).push_back({PointKind::center, centers.detach().cpu().index_select(0, ids), identities});
  if (classifier_weights.defined())
    space(classifier_weights.size(1)).push_back(
        {PointKind::classifier_weight, classifier_weights.detach().cpu().index_select(0, ids), identities});
  if (features.defined()) {
    std::vector<std::int64_t> keep, kept_labels;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (chosen.contains(labels[i])) {
        keep.push_back(static_cast<std::int64_t>(i));
        kept_labels.push_back(labels[i]);
      }
    if (!keep.empty())
      space(features.size(1)).push_back(
          {PointKind::feature, features.detach().cpu().index_select(0, torch::tensor(keep, torch::kLong)), kept_labels});
  }

  std::vector<EmbeddingPanel> panels;
  std::vector<std::int64_t> sorted = identities;
  std::sort(sorted.begin(), sorted.end());
  for (auto& [dimension, sets] : spaces) {
    EmbeddingPanel panel;
    panel.dimension = dimension;
    panel.identities = sorted;
    std::vector<torch::Tensor> rows;
    std::vector<std::string> names;
    for (const Set& set : sets) {
      rows.push_back(set.rows.to(torch::kDouble));
      panel.kinds.insert(panel.kinds.end(), set.labels.size(), set.kind);
      panel.labels.insert(panel.labels.end(), set.labels.begin(), set.labels.end());
      names.push_back(set.kind == PointKind::feature ? "features"
                      : set.kind == PointKind::center ? "centers"
                                                      : "classifier weights");
    }
    panel.projection = pca_2d(torch::cat(rows, 0));
    panel.title = fmt::format("PCA of {} ({}-D, {} identities)", fmt::join(names, " + "), dimension,
                              identities.size());
    panels.push_back(std::move(panel));
  }
  return panels;
}

void write_embedding_plot(const torch::Tensor& centers, const torch::Tensor& classifier_weights,
                          const torch::Tensor& features, const torch::Tensor& feature_labels,
                          const std::filesystem::path& png, const EmbeddingPlotStyle& style) {
  if (style.panel_size < 400) throw std::invalid_argument("write_embedding_plot: panel_size < 400");
  const auto panels = embedding_panels(centers, classifier_weights, features, feature_labels, style);
  cv::Mat canvas(style.panel_size, style.panel_size * static_cast<int>(panels.size()), CV_8UC3, kWhite);
  for (std::size_t p = 0; p < panels.size(); ++p) draw_panel(canvas, p, panels[p], style);
  write_png(png, canvas);
}

}  // namespace fgreid::eval
