#pragma once
// GRID (Loy et al., CVPR 2009; QMUL underground Re-ID): 250 identities seen by two of 8
// cameras of an underground station, plus 775 gallery-only people.
//
//   <root>/[grid/ or GRID/]underground_reid/probe/0001_1_25004_107_32_130.jpeg …
//                                           gallery/0001_2_…jpeg, 0000_…jpeg (distractors)
//                                           features_and_partitions.mat
//
// A name reads PPPP_C_<frame and box>.jpeg: identity P (0000 = a gallery-only distractor) and
// camera C (1..8). features_and_partitions.mat holds trainIdxAll, a 1×10 cell of 1×1 structs
// whose third field lists the split's 125 training identities (torchreid reads it by position,
// and so does fgreid). A split trains on both images of those identities; the other probe
// images are queries and the other gallery images, distractors included, the gallery.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace fgreid::datasets {

/// The fields of a GRID file name that the protocol uses.
struct GridName {
  std::int64_t person = 0;  ///< 0 = distractor
  int camera = 0;           ///< 1-based
};

/// Parses `PPPP_C_<anything>.jpeg` (4 digits, then a camera number 1..8); nullopt otherwise.
[[nodiscard]] std::optional<GridName> parse_grid_name(std::string_view filename);

/// Writes features_and_partitions.mat (MATLAB v5, through matio) with `trainIdxAll` holding
/// one 1×1 struct per split whose third field is that split's training identities.
void write_grid_partitions(const std::filesystem::path& file,
                           const std::vector<std::vector<std::int64_t>>& train_ids);

/// Writes the synthetic stand-in in the release's layout (grid/underground_reid/) under
/// `root`: 100 identities in probe and gallery, 80 distractors, 8 cameras, 10 splits of 50.
void write_synthetic_grid(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The GRID dataset policy.
struct GRID {
  static constexpr std::string_view name = "GRID";
  static constexpr Modality modality = Modality::image;
  struct Options {
    /// Which of features_and_partitions.mat's 10 splits (0-based, torchreid's split_id).
    int split_index = 0;
    /// The validation split carved out of the training identities (--validation, --validation-seed).
    ValidationOptions held_out;
    FGREID_REFLECT(Options, split_index, held_out);
  };

  /// Reads underground_reid/ under `root`, `root`/grid/ or `root`/GRID/ (or `root` itself when
  /// it is underground_reid/). Every .jpeg must parse; UsageError for a split that is not there.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<GRID>);

}  // namespace fgreid::datasets
