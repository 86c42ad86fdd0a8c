#pragma once
// CUHK01 (Li et al., ACCV 2012): 971 identities, 4 images each, two camera views.
//
//   <root>/[cuhk01/]campus/0001001.png … 0971004.png     (torchreid)
//   <root>/[cuhk01/]0001001.png …                          (the seed: the images directly)
//
// A name reads PPPPIII.png: identity P (1..N, no gaps) and image I; images 001–002 are view A
// (camera 0), 003–004 view B (camera 1). The split is the seed's: np.random.seed(S), then one
// np.random.shuffle of the identity order 0..N-1; the first N − split identities train, the
// other `split` are tested with their view-A images as queries and view-B images as gallery.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

namespace fgreid::datasets {

/// The fields of a CUHK01 file name, as written.
struct Cuhk01Name {
  int person = 0;  ///< 1-based, the first four digits
  int image = 0;   ///< 1..4, the last three digits
};

/// Parses `PPPPIII.png` (4 and 3 digits, image 001..004); nullopt for any other name.
[[nodiscard]] std::optional<Cuhk01Name> parse_cuhk01_name(std::string_view filename);

/// The seed's test identities (0-based, as its `pid = int(name[:4]) - 1`), ascending: the ids
/// left after the first `identities − test_ids` of np.random.seed(seed);
/// np.random.shuffle(np.arange(identities)).
[[nodiscard]] std::vector<std::int64_t> cuhk01_test_ids(int identities, int test_ids,
                                                        std::uint32_t seed);

/// Writes the synthetic stand-in in torchreid's layout (cuhk01/campus/) under `root`: 200
/// identities × 4 images, two views, 60×160 PNG.
void write_synthetic_cuhk01(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The CUHK01 dataset policy.
struct CUHK01 {
  static constexpr std::string_view name = "CUHK01";
  static constexpr Modality modality = Modality::image;
  struct Options {
    /// Test identities: 100 (the seed's default) or 485 (the 486/485 protocol); the rest train.
    int split = 100;
    /// numpy seed of the seed's one shuffle of the identities (its --seed); ten trials are ten runs with 1..10.
    std::int64_t split_seed = 1;
    /// The validation split carved out of the training identities (--validation, --validation-seed).
    ValidationOptions held_out;
    FGREID_REFLECT(Options, split, split_seed, held_out);
  };

  /// Reads the sorted *.png of `root`/[cuhk01/]campus/ (or of `root`/[cuhk01/] itself). Every
  /// .png must parse and the identities must run 1..N without gaps (the split draws them by
  /// position); UsageError when --split or --split-seed is out of range.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<CUHK01>);

}  // namespace fgreid::datasets
