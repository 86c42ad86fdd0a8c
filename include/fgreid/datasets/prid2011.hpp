#pragma once
// PRID-2011 (Hirzer et al., SCIA 2011), multi-shot: two cameras; cam_a sees 385 persons,
// cam_b 749. Persons 1..200 are seen by both; from 201 on, a number names a different person
// in each camera. One tracklet per person and camera.
//
//   <root>/[prid2011/]prid_2011/multi_shot/cam_a/person_0001/0001.png     (or multi_shot/…)
//                                          cam_b/person_0001/…
//                     splits_prid2011.json   [{"train": ["person_0001", …], "test": […]}, …]
//
// splits_prid2011.json is the file torchreid and the seed read (it is not in the release:
// torchreid's holds ten 89/89 halves). Without it, ten seeded random halves of the persons seen
// by both cameras (the folders numbered 1..200 in both) are written there in the same format, and the run says so. Query = cam_a,
// gallery = cam_b.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid::datasets {

/// Ten splits of `persons` (sorted folder names), each a seeded random half for training (the
/// smaller half when the count is odd) and the rest for testing, both sorted; in
/// splits_prid2011.json's format. mt19937_64 raw output only: the same on every platform.
[[nodiscard]] nlohmann::json random_person_halves(const std::vector<std::string>& persons,
                                                  std::uint64_t seed, int count = 10);

/// Writes the synthetic stand-in in the release's layout under `root`: persons 1..80 in both
/// cameras, 201..220 only in cam_a and 201..260 only in cam_b, and splits_prid2011.json.
void write_synthetic_prid2011(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The PRID-2011 dataset policy.
struct PRID2011 {
  static constexpr std::string_view name = "PRID-2011";
  static constexpr Modality modality = Modality::video;
  struct Options {
    /// Which split of splits_prid2011.json (0-based).
    int split_index = 0;
    /// Seed of the ten random halves written when splits_prid2011.json is absent.
    std::int64_t split_seed = 1;
    /// The validation split carved out of the training identities (--validation, --validation-seed).
    ValidationOptions held_out;
    FGREID_REFLECT(Options, split_index, split_seed, held_out);
  };

  /// Reads the multi-shot sequences and splits_prid2011.json from `root` or `root`/prid2011/.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<PRID2011>);

}  // namespace fgreid::datasets
