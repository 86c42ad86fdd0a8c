#pragma once
// MARS, Motion Analysis and Re-identification Set (Zheng et al., ECCV 2016): 1261 identities,
// 6 cameras, 20 478 tracklets from the DPM detector and GMMCP tracker.
//
//   <root>/[MARS/|mars/]bbox_train/0001/0001C1T0001F001.jpg      frames, by person folder
//                       bbox_test/0000/…  bbox_test/00-1/…        (distractors 0, junk -1)
//                       info/train_name.txt, info/test_name.txt    one frame name per line
//                       info/tracks_train_info.mat  track_train_info  N×4 [first last pid cam]
//                       info/tracks_test_info.mat   track_test_info   M×4, rows 1-based into
//                                                                     test_name.txt
//                       info/query_IDX.mat          query_IDX         rows of track_test_info
//
// A name reads PPPPCcTttttFfff.jpg: person, camera c (1..6), tracklet, frame. The official
// protocol (torchreid, the seed): junk tracklets (pid −1) are dropped, distractors (pid 0)
// stay in the gallery, the query tracklets are the rows query_IDX names and the gallery every
// other test row.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace fgreid::datasets {

/// Writes the synthetic stand-in in the release's layout under `root` (in MARS/): 60 training
/// and 60 test identities on 6 cameras, distractor and junk tracklets, the three .mat files.
void write_synthetic_mars(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The MARS dataset policy.
struct MARS {
  static constexpr std::string_view name = "MARS";
  static constexpr Modality modality = Modality::video;
  using Options = ValidationOptions;

  /// Reads bbox_train/, bbox_test/ and info/ from `root`, `root`/MARS/ or `root`/mars/. Each
  /// tracklet must hold the frames of one person and one camera; training pids are
  /// relabelled 0..N-1.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<MARS>);

}  // namespace fgreid::datasets
