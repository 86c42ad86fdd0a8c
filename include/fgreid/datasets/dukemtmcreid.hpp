#pragma once
// DukeMTMC-reID (Ristani et al. 2016; Zheng et al., ICCV 2017): 1404 identities plus 408
// gallery distractors, 8 synchronised cameras, one image per box, Market-1501's layout.
//
//   <root>/[DukeMTMC-reID/]bounding_box_train/0001_c2_f0046182.jpg
//                          query/…  bounding_box_test/…
//
// A name reads PPPP_cC_fFFFFFFF.jpg: person id, camera C (1..8), frame F on the cameras'
// common 60 fps clock. There are no junk boxes; distractors have ids of their own.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace fgreid::datasets {

/// The fields of a DukeMTMC-reID file name, as written.
struct DukeName {
  std::int64_t pid = 0;
  int camera = 0;          ///< 1-based, as in `c3`
  std::int64_t frame = 0;  ///< as in `f0046182`
};

/// Parses `PPPP_cC_fFFFFFFF.jpg`; nullopt for any other name.
[[nodiscard]] std::optional<DukeName> parse_duke_name(std::string_view filename);

/// Writes the synthetic stand-in in the release's layout under `root`: 80 training and 80 test
/// identities, 20 distractors, 8 cameras, 64×128 JPEGs.
void write_synthetic_duke(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The DukeMTMC-reID dataset policy.
struct DukeMTMCreID {
  static constexpr std::string_view name = "DukeMTMC-reID";
  static constexpr Modality modality = Modality::image;
  using Options = ValidationOptions;

  /// Reads bounding_box_train/, query/ and bounding_box_test/ from `root` or from
  /// `root`/DukeMTMC-reID/. Every .jpg must parse; training pids are relabelled 0..N-1.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<DukeMTMCreID>);

}  // namespace fgreid::datasets
