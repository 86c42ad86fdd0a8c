#pragma once
// iLIDS-VID (Wang et al., ECCV 2014): 300 persons, each seen once by two non-overlapping
// cameras of an airport hall, a tracklet of 23–192 frames per camera.
//
//   <root>/[ilids-vid/|iLIDS-VID/|iLIDS/]i-LIDS-VID/sequences/cam1/person001/*.png
//                                                            cam2/person001/*.png
//        train-test people splits/train_test_splits_ilidsvid.mat   variable ls_set
//
// ls_set is 10×300: row i is split i, a permutation of 1..300 indexing the person folders of
// cam1 in sorted order; its first half are the test persons, the rest train (Wang et al.,
// as torchreid reads it). Query = camera 1, gallery = camera 2.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace fgreid::datasets {

/// Writes the synthetic stand-in in the release's layout under `root`: 80 persons (40 train,
/// 40 test in each split), both cameras, ten splits in a real .mat file.
void write_synthetic_ilidsvid(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The iLIDS-VID dataset policy.
struct ILIDSVID {
  static constexpr std::string_view name = "iLIDS-VID";
  static constexpr Modality modality = Modality::video;
  struct Options {
    /// Which of the release's ten train/test splits (0-based, a row of ls_set).
    int split_index = 0;
    /// The validation split carved out of the training identities (--validation, --validation-seed).
    ValidationOptions held_out;
    FGREID_REFLECT(Options, split_index, held_out);
  };

  /// Reads the sequences and the split file from `root` or its ilids-vid/, iLIDS-VID/ or iLIDS/.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<ILIDSVID>);

}  // namespace fgreid::datasets
