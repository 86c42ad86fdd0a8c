#pragma once
// DukeMTMC-VideoReID (Wu et al., CVPR 2018): 702 training and 702 test identities plus 408
// gallery distractors, 8 cameras, frames sampled at 12 fps from DukeMTMC.
//
//   <root>/[dukemtmc-vidreid/]DukeMTMC-VideoReID/{train,query,gallery}/<pid>/<tracklet>/*.jpg
//
// A frame reads PPPP_CC_FFFFF_XNNNNN.jpg (e.g. 0001_C6_F0099_X30823.jpg: person, camera c
// 1..8, the frame's index in the tracklet, …) or, in older copies, PPPPCcFffffXnnnnn.jpg.
// Frames are ordered by their index F (torchreid: some tracklets start at F0002).
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace fgreid::datasets {

/// The fields of a DukeMTMC-VideoReID frame name, as written.
struct DukeVideoName {
  std::int64_t pid = 0;
  int camera = 0;          ///< 1-based, as in `C6`
  std::int64_t index = 0;  ///< as in `F0099`
};

/// Parses `0001_C6_F0099_X30823.jpg` or `0001C6F0099X30823.jpg`; nullopt for any other name.
[[nodiscard]] std::optional<DukeVideoName> parse_duke_video_name(std::string_view filename);

/// Writes the synthetic stand-in in the release's layout under `root`: 60 training and 60 test
/// identities, 12 distractors, 8 cameras.
void write_synthetic_duke_video(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The DukeMTMC-VideoReID dataset policy.
struct DukeMTMCVideoReID {
  static constexpr std::string_view name = "DukeMTMC-VideoReID";
  static constexpr Modality modality = Modality::video;
  using Options = ValidationOptions;

  /// Reads train/, query/ and gallery/ from `root`, `root`/DukeMTMC-VideoReID/ or
  /// `root`/dukemtmc-vidreid/DukeMTMC-VideoReID/. Every frame name must parse, and a tracklet
  /// hold one person (its folder's) and one camera; training pids are relabelled 0..N-1.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<DukeMTMCVideoReID>);

}  // namespace fgreid::datasets
