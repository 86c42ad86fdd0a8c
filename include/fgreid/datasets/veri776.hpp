#pragma once
// VeRi-776 (Liu et al., ECCV 2016 / ICME 2016): 776 vehicles, 20 cameras, one image per box.
//
//   <root>/[VeRi/]image_train/0001_c001_00016450_0.jpg
//                 image_query/…  image_test/…
//
// A name reads VVVV_cCCC_FFFFFFFF_N.jpg: vehicle id, camera C (1..20), frame F of the
// camera's recording (used by st-ReID), and N, the image's index. Gallery images of a query's
// own camera are dropped by the evaluator, as for Market-1501.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace fgreid::datasets {

/// The fields of a VeRi-776 file name, as written.
struct VeriName {
  std::int64_t vehicle = 0;
  int camera = 0;          ///< 1-based, as in `c003`
  std::int64_t frame = 0;  ///< as in `00016450`
  int index = 0;           ///< the trailing `_N`
};

/// Parses `VVVV_cCCC_FFFFFFFF_N.jpg` (4, 3 and 8 digits); nullopt for any other name.
[[nodiscard]] std::optional<VeriName> parse_veri_name(std::string_view filename);

/// Writes the synthetic stand-in in the release's layout under `root`: 80 training and 60 test
/// identities, 20 cameras.
void write_synthetic_veri(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The VeRi-776 dataset policy.
struct VeRi776 {
  static constexpr std::string_view name = "VeRi-776";
  static constexpr Modality modality = Modality::image;
  /// The seed keeps the checkpoint of best mAP, not rank-1, on this dataset (its -f).
  static constexpr bool select_by_map = true;
  using Options = ValidationOptions;

  /// Reads image_train/, image_query/ and image_test/ from `root` or `root`/VeRi/. Every .jpg
  /// must parse; training ids are relabelled 0..N-1; frames go to Entry::frame.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<VeRi776>);

}  // namespace fgreid::datasets
