#pragma once
// CUHK03 (Li et al., CVPR 2014): 1467 identities from 5 camera pairs, each seen by both
// cameras of its pair, up to 5 images per view; boxes drawn by hand ("labeled") and by a
// detector ("detected").
//
//   <root>/[cuhk03/]cuhk03_release/cuhk-03.mat           MATLAB v7.3 (HDF5): the images
//   <root>/[cuhk03/]cuhk03_new_protocol_config_{labeled,detected}.mat   (torchreid's place;
//                    the seed's is cuhk03_release/)     MATLAB v5: the 767/700 protocol
//   <root>/[cuhk03/]images_{labeled,detected}/C_PPP_V_II.png   extracted here once
//
// cuhk-03.mat holds `labeled` and `detected`, 1×5 cells (one per camera pair) of P×10 cells
// (person × image: 1–5 the first camera, 6–10 the second; empty where a person has fewer) of
// H×W×3 uint8 images, and `testsets`, a 1×20 cell of 100×2 [pair, person] lists: the classic
// splits. Extraction follows torchreid: image (pair c, person p, view v, slot i) becomes
// images_<boxes>/c_ppp_v_ii.png. The camera is the view, 0 or 1. Identities are numbered over
// the pairs (pair 1's persons first) from 1, as the new protocol's `labels` number them. The
// frame (st-ReID's clock) is what the seed reads (tools/generate_seq_cuhk03.py: the last `_`
// field of the name): the slot II, 1..10.
#include <fgreid/enum_names.hpp>
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid::datasets {
/// Which boxes of CUHK03 to use.
enum class Cuhk03Boxes { detected, labeled };
}  // namespace fgreid::datasets

namespace fgreid {
template <>
struct EnumNames<datasets::Cuhk03Boxes> {
  static constexpr std::array<std::string_view, 2> values{"detected", "labeled"};
};
}  // namespace fgreid

namespace fgreid::datasets {

/// The contents of cuhk-03.mat, for writing one (tests, the synthetic stand-in).
struct Cuhk03Release {
  /// Per camera pair, per person, 10 slots (empty Mat = empty cell): BGR images.
  using Boxes = std::vector<std::vector<std::array<cv::Mat, 10>>>;
  Boxes labeled, detected;
  /// Classic splits: [pair, person] pairs, 1-based.
  std::vector<std::vector<std::array<int, 2>>> testsets;
};

/// Writes `release` as cuhk-03.mat in MATLAB v7.3's layout (HDF5 with MATLAB's 512-byte header;
/// cells as datasets of object references into #refs#, MATLAB_class attributes, empty cells as
/// MATLAB's [] placeholder).
void write_cuhk03_mat(const std::filesystem::path& file, const Cuhk03Release& release);

/// The new protocol of one box type: 1-based indices into filelist/labels.
struct Cuhk03Protocol {
  std::vector<std::string> filelist;  ///< image names, C_PPP_V_II.png
  std::vector<std::int64_t> labels;   ///< identity of each image
  std::vector<std::int64_t> train_idx, query_idx, gallery_idx;
};

/// Writes a cuhk03_new_protocol_config_*.mat (MATLAB v5 through matio): filelist (N×1 cell of
/// char), labels, camId, train_idx, query_idx, gallery_idx (N×1 / M×1 double).
void write_cuhk03_protocol(const std::filesystem::path& file, const Cuhk03Protocol& protocol);

/// The image name torchreid extracts to: `C_PPP_V_II.png` from 0-based pair, person, slot.
[[nodiscard]] std::string cuhk03_image_name(int pair, int person, int slot);

/// Writes the synthetic stand-in (cuhk03/ with cuhk03_release/cuhk-03.mat and both protocol
/// files) under `root`: 5 camera pairs of 20, 14, 10, 8 and 8 identities.
void write_synthetic_cuhk03(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The CUHK03 dataset policy.
struct CUHK03 {
  static constexpr std::string_view name = "CUHK03";
  static constexpr Modality modality = Modality::image;
  struct Options {
    /// Boxes: detected (torchreid's default) or labeled (hand-drawn).
    Cuhk03Boxes cuhk03_boxes = Cuhk03Boxes::detected;
    /// Use the 20 classic splits of cuhk-03.mat (testsets) instead of the 767/700 new protocol.
    bool cuhk03_classic = false;
    /// Which classic split (0..19; the new protocol has only 0).
    int split_index = 0;
    /// The validation split carved out of the training identities (--validation, --validation-seed).
    ValidationOptions held_out;
    FGREID_REFLECT(Options, cuhk03_boxes, cuhk03_classic, split_index, held_out);
  };

  /// Reads cuhk-03.mat (extracting the chosen boxes to PNG once) and the protocol. Errors name
  /// the file and, for a .mat, the variable.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<CUHK03>);

}  // namespace fgreid::datasets
