#pragma once
// Market-1501 (Zheng et al., ICCV 2015): 1501 identities, 6 cameras, one image per box.
//
//   <root>/[Market-1501-v15.09.15/]bounding_box_train/0002_c1s1_000451_03.jpg
//                                  query/…  bounding_box_test/…
//
// A name reads PPPP_cCsS_FFFFFF_BB.jpg: person id (-1 junk, 0000 distractor), camera C,
// recording sequence S of that camera, frame F within the sequence, box BB in that frame.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>

namespace fgreid::datasets {

/// The fields of a Market-1501 file name, as written (nothing validated beyond the syntax).
struct MarketName {
  std::int64_t pid = 0;    ///< -1 junk, 0 distractor, else 1..1501
  int camera = 0;          ///< 1-based, as in `c3`
  int sequence = 0;        ///< 1-based, as in `s2`
  std::int64_t frame = 0;  ///< frame within the sequence
  int box = 0;             ///< detection index within the frame
};

/// Parses `PPPP_cCsS_FFFFFF_BB.jpg` (PPPP may be `-1`); nullopt for any other name.
[[nodiscard]] std::optional<MarketName> parse_market_name(std::string_view filename);

/// The length in frames of each recorded sequence of `camera` (1-based), s1 first; empty for
/// a camera Market-1501 does not have.
[[nodiscard]] std::span<const std::int64_t> market_sequence_lengths(int camera);

/// The frame on the camera's own clock: `frame` plus the lengths of the camera's sequences
/// before `sequence`. nullopt when the camera or sequence is not in the release.
[[nodiscard]] std::optional<std::int64_t> market_global_frame(int camera, int sequence,
                                                              std::int64_t frame);

/// Writes the synthetic stand-in in the release's layout under `root` (see synthetic.hpp for
/// the renderer): ~100 training identities, ~100 test identities, 6 cameras, 128×64 JPEGs.
void write_synthetic_market(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The Market-1501 dataset policy.
struct Market1501 {
  static constexpr std::string_view name = "Market-1501";
  static constexpr Modality modality = Modality::image;
  /// The seed keeps the checkpoint of best mAP, not rank-1, on this dataset (its -f).
  static constexpr bool select_by_map = true;
  using Options = ValidationOptions;

  /// Reads bounding_box_train/, query/ and bounding_box_test/ from `root` or from
  /// `root`/Market-1501-v15.09.15/. Junk boxes (pid -1) are dropped, distractors (pid 0)
  /// kept; training pids are relabelled 0..N-1; `validation` carves query/gallery out of the
  /// training ids (validation.hpp). A sequence beyond the release's table (data renamed into
  /// these names) leaves the frame unknown (-1): only --st-reid refuses it.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<Market1501>);

}  // namespace fgreid::datasets
