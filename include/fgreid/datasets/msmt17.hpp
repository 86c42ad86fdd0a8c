#pragma once
// MSMT17 (Wei et al., CVPR 2018): 4101 identities, 15 cameras (12 outdoor, 3 indoor). Images
// sit in one folder per identity; list files say which belong to which subset.
//
//   <root>/MSMT17_V1/{train,test}/0000/0000_000_01_0303morning_0015_0.jpg
//   <root>/MSMT17_V2/{mask_train_v2,mask_test_v2}/…            (V2: faces blurred)
//   <root>/MSMT17_V?/list_{train,val,query,gallery}.txt         lines "0000/<name>.jpg 0"
//
// train and val list images of the train folder, query and gallery those of the test folder.
// The camera is the third `_` field of the name (torchreid's rule). Train and test ids are
// numbered separately, each from 0.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace fgreid::datasets {

/// The camera (1-based) of an MSMT17 image: the third `_`-separated field of the file name,
/// e.g. `01` in `0000_000_01_0303morning_0015_0.jpg`; nullopt when there is none or it is not
/// a number.
[[nodiscard]] std::optional<int> msmt17_camera(std::string_view filename);

/// Writes the synthetic stand-in in MSMT17_V2's layout under `root`: 80 training identities
/// (a tenth of their images in list_val.txt) and 80 test identities, 15 cameras.
void write_synthetic_msmt17(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The MSMT17 dataset policy (V1 or V2, whichever is under --data-root; V2 first).
struct MSMT17 {
  static constexpr std::string_view name = "MSMT17";
  static constexpr Modality modality = Modality::image;
  struct Options {
    /// Train on list_val.txt too (torchreid's combineall); off for the conventional protocol.
    bool msmt17_merge_val = false;
    /// The validation split carved out of the training identities (--validation, --validation-seed).
    ValidationOptions held_out;
    FGREID_REFLECT(Options, msmt17_merge_val, held_out);
  };

  /// Reads the four lists of `root`/MSMT17_V2/ or `root`/MSMT17_V1/ (or of `root` itself when
  /// it is one of them). Every listed image must exist.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<MSMT17>);

}  // namespace fgreid::datasets
