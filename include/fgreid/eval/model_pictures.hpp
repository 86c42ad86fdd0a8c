#pragma once
// Pictures of a model, drawn at evaluation time (issue 4, "Pictures"):
// - the FGReID spatial attention over query images, as the seed's visualize_attention_heads.py
//   draws it (bilinear upsampling, per-image min-max scaling, viridis, alpha 0.7 over the image);
// - a 2-D PCA of the center loss's centers, the classifier weights and a sample of features,
//   coloured by identity, after the seed's plot_tsne.py (which draws 3-D PCAs of the first two).
// Both are written as PNGs through a temporary file and a rename.
#include <fgreid/data/loader.hpp>
#include <fgreid/datasets/splits.hpp>
#include <fgreid/modality.hpp>
#include <fgreid/models/concept.hpp>

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace fgreid::eval {

// --- attention overlays -----------------------------------------------------------------------

/// Returns the spatial attention map [B, T, h, w] of a batch of inputs already on the device
/// (images [B, 3, H, W] with T = 1, or clips [B, T, 3, H, W]).
using AttentionFunction = std::function<torch::Tensor(const torch::Tensor& inputs)>;

/// Which FGReID map the colours show.
enum class AttentionValues {
  /// Σ_c softmax(GAP)_c (X_c − min X), before the sigmoid: what the seed's
  /// visualize_attention_heads.py draws. The sigmoid of it is saturated (exactly 1.0 in float32
  /// over most of the image for an untrained network), so min-max scaling it shows nothing.
  pre_sigmoid,
  /// The sigmoid map that branch 2 multiplies by (FGReIDNetImpl::attention_map).
  sigmoid,
};

struct OverlayStyle {
  AttentionValues values = AttentionValues::pre_sigmoid;  ///< for FGReID networks
  double alpha = 0.7;      ///< weight of the colour-mapped attention (the seed's 0.7)
  int scale = 0;           ///< pixels per image pixel (nearest); 0: the least making a tile >= 256 px tall
  int columns = 4;         ///< cells (image + overlay) per grid row, for image models
  int clip_frames = 4;     ///< frames per clip (each tracklet's first ones) for video models
  int batch_size = 32;     ///< images per forward pass
};

/// Where write_attention_overlays draws. Each cell shows an entry's image (left) and its overlay
/// (right), each `tile_width` x `tile_height`, with a caption band below. Image models fill
/// `columns` cells per row; video models draw one row per tracklet, one cell per frame.
struct OverlayGrid {
  int scale = 1;
  int tile_width = 0, tile_height = 0;
  int width = 0, height = 0;  ///< of the whole PNG
  static constexpr int kMargin = 8;      ///< around the grid
  static constexpr int kPairGap = 2;     ///< between an image and its overlay
  static constexpr int kCellGap = 12;    ///< between cells
  static constexpr int kCaption = 34;    ///< two caption lines under each cell

  /// Top-left pixel {x, y} of the overlay tile of cell (row, column).
  [[nodiscard]] std::pair<int, int> overlay_origin(std::size_t row, std::size_t column) const;
  /// Top-left pixel {x, y} of the plain image tile of cell (row, column).
  [[nodiscard]] std::pair<int, int> image_origin(std::size_t row, std::size_t column) const;
};

/// The grid for `rows` x `columns` cells of images `image_height` x `image_width` (the model's
/// input size).
[[nodiscard]] OverlayGrid overlay_grid(std::int64_t image_height, std::int64_t image_width,
                                       std::size_t rows, std::size_t columns,
                                       const OverlayStyle& style = {});

/// A network's attention map as the overlays show it: `map` of inputs on the device, what the
/// network takes, and the name of the values for the captions. Empty (false) for a network
/// without an attention map.
struct AttentionView {
  AttentionFunction map;
  Modality modality = Modality::image;
  std::string values_name = "map";
  explicit operator bool() const { return static_cast<bool>(map); }
};

/// The view of an AttentionNetwork (models/concept.hpp), which must outlive it. Each call runs
/// in eval mode without gradients and restores the network's training mode. It shows
/// attention_before_sigmoid() when `values` asks for it and the network has it
/// (ScoredAttentionNetwork), else attention_map().
template <models::AttentionNetwork Net>
[[nodiscard]] AttentionView attention_view(Net& network,
                                           AttentionValues values = AttentionValues::pre_sigmoid) {
  const bool scores = values == AttentionValues::pre_sigmoid;
  AttentionView view{.map = {}, .modality = network.modality(), .values_name = "sigmoid"};
  if constexpr (models::ScoredAttentionNetwork<Net>)
    if (scores) view.values_name = "before sigmoid";
  view.map = [&network, scores](const torch::Tensor& inputs) {
    torch::NoGradGuard no_grad;
    const bool training = network.is_training();
    network.eval();
    struct Restore {
      Net& network;
      bool training;
      ~Restore() { network.train(training); }
    } restore{network, training};
    if constexpr (models::ScoredAttentionNetwork<Net>)
      if (scores) return network.attention_before_sigmoid(inputs);
    return network.attention_map(inputs);
  };
  return view;
}

/// Draws the attention of entries[indices[i]] over their first image (image models) or first
/// `style.clip_frames` frames (video models; a shorter tracklet repeats its last frame) and
/// writes the grid to `png`. Each image is loaded as the loader does (OpenCV, resized to
/// transform.height x transform.width, no flip), normalised and given to `view.map`; its map
/// is upsampled bilinearly (align_corners, as the seed's F.upsample_bilinear), scaled to [0, 1]
/// by its own min and max (the raw range is printed under the tile), coloured with viridis
/// (index floor(256 v), as matplotlib) and blended over the image: alpha * viridis + (1 - alpha)
/// * image. Throws std::invalid_argument on an empty view, no indices or an index out of range,
/// DataError for an unreadable image or an unwritable PNG.
void write_attention_overlays(const AttentionView& view, std::span<const datasets::Entry> entries,
                              std::span<const std::size_t> indices,
                              const data::ImageTransform& transform, const torch::Device& device,
                              const std::filesystem::path& png, const OverlayStyle& style = {});

/// The same for an AttentionNetwork, showing style.values.
template <models::AttentionNetwork Net>
void write_attention_overlays(Net& network, std::span<const datasets::Entry> entries,
                              std::span<const std::size_t> indices,
                              const data::ImageTransform& transform, const torch::Device& device,
                              const std::filesystem::path& png, const OverlayStyle& style = {}) {
  write_attention_overlays(attention_view(network, style.values), entries, indices, transform,
                           device, png, style);
}

// --- embedding plot ---------------------------------------------------------------------------

/// Rows [N, D] centred and projected on their two leading principal axes (SVD of the centred
/// rows, in double). Each axis's sign is fixed so that its largest-magnitude loading is
/// positive, so the picture does not flip between evaluations for no reason.
struct Projection2d {
  torch::Tensor points;                 ///< [N, 2] float64
  std::array<double, 2> explained{};   ///< fraction of the total variance along each axis
};
[[nodiscard]] Projection2d pca_2d(const torch::Tensor& rows);

/// What a plotted point is; each kind has its own marker.
enum class PointKind {
  feature,            ///< small filled circle
  center,             ///< large triangle, black outline
  classifier_weight,  ///< square, black outline
};

/// One panel of the embedding plot: the sets that live in one space (same dimension) share one
/// PCA fitted on their union, so their relative positions mean something. Centers and features
/// are both D_feature-dimensional; FGReID's classifier weights are 1024-D (the classifier reads
/// one branch's feature), so they get a panel of their own; a model whose classifier reads the
/// whole feature (BNNeck) gets a single panel.
struct EmbeddingPanel {
  std::string title;
  std::int64_t dimension = 0;
  Projection2d projection;              ///< one row per point
  std::vector<PointKind> kinds;         ///< per point
  std::vector<std::int64_t> labels;     ///< identity per point
  /// The identities drawn (in every panel), ascending; identity identities[k] is drawn in
  /// palette_colour(k), so up to 16 identities get 16 different colours.
  std::vector<std::int64_t> identities;
};

struct EmbeddingPlotStyle {
  int panel_size = 800;               ///< each panel is panel_size x panel_size pixels
  std::size_t max_identities = 16;    ///< identities drawn: first met in feature_labels, then 0, 1, ...; 0 = all
};

/// The identities drawn and, per panel, their projected points. Any of the three sets may be an
/// undefined tensor (a model without centers); centers and classifier weights are indexed by
/// identity [C, D]; features [N, D] with feature_labels [N] in [0, C).
[[nodiscard]] std::vector<EmbeddingPanel> embedding_panels(const torch::Tensor& centers,
                                                           const torch::Tensor& classifier_weights,
                                                           const torch::Tensor& features,
                                                           const torch::Tensor& feature_labels,
                                                           const EmbeddingPlotStyle& style = {});

/// The data area {left, top, right, bottom} of panel `panel` in the PNG (points lie inside it).
[[nodiscard]] std::array<int, 4> embedding_plot_area(std::size_t panel,
                                                     const EmbeddingPlotStyle& style = {});

/// Colour (BGR) number `slot` of the embedding plot's fixed palette of 16 (cycling).
[[nodiscard]] std::array<std::uint8_t, 3> palette_colour(std::size_t slot);

/// Draws embedding_panels(...) side by side (equal scales on both axes, axes labelled with the
/// share of variance, a legend of marker shapes and identity colours) and writes the PNG.
/// Throws std::invalid_argument on inconsistent shapes or nothing to draw, DataError when the
/// PNG cannot be written.
void write_embedding_plot(const torch::Tensor& centers, const torch::Tensor& classifier_weights,
                          const torch::Tensor& features, const torch::Tensor& feature_labels,
                          const std::filesystem::path& png, const EmbeddingPlotStyle& style = {});

}  // namespace fgreid::eval
