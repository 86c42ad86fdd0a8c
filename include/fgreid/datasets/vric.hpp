#pragma once
// VRIC, Vehicle Re-Identification in Context (Kanaci et al., GCPR 2018): 5622 vehicles from
// the UA-DETRAC videos, 60 cameras; one probe and one gallery image per test vehicle.
//
//   <root>/[VRIC/]vric_{train,probe,gallery}.txt      lines "<image name> <id> <camera>"
//                 {train,probe,gallery}_images/<image name>
//
// Cameras are 1-based in the lists. The frame (st-ReID's clock) is the seed's reading of the
// image name (tools/generate_seq_vric.py): the last `_` field without its first three
// characters, "..._fr00042.jpg" → 42; -1 where the name has no such number.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace fgreid::datasets {

/// Writes the synthetic stand-in in the release's layout under `root`: 80 training and 80 test
/// identities, 60 cameras, one probe and one gallery image per test identity.
void write_synthetic_vric(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The VRIC dataset policy.
struct VRIC {
  static constexpr std::string_view name = "VRIC";
  static constexpr Modality modality = Modality::image;
  using Options = ValidationOptions;

  /// Reads the three lists of `root` or `root`/VRIC/; every listed image must exist.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<VRIC>);

}  // namespace fgreid::datasets
