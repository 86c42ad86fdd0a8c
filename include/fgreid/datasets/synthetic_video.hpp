#pragma once
// Synthetic video releases: identities walk through a few cameras, each passage a tracklet of
// consecutive frames in which the figure drifts across the picture, swings its arms and legs
// and comes a little closer, in front of that passage's fixed background (synthetic.hpp's
// renderer, one jitter per frame). Each video dataset plans its tracklets with a
// VideoPlanner, names the frames its own way, and writes its metadata files itself.
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/synthetic_release.hpp>

#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <utility>
#include <vector>

namespace fgreid::datasets::synthetic {

/// One passage of a person in front of one camera.
struct Tracklet {
  Subset subset = Subset::train;
  std::int64_t pid = 0;        ///< the release's id, as it will be written
  int camera = 0;              ///< 0-based
  int number = 0;              ///< 1-based count of this id's tracklets on this camera (all subsets)
  int frames = 1;
  std::size_t person = 0;      ///< index into VideoPlanner::people()
  std::uint64_t seed = 0;      ///< draws the walk and the background
  std::vector<std::filesystem::path> paths;  ///< relative to the root, from the naming
};

/// Plans the tracklets of a release (nothing is drawn until write_tracklets).
class VideoPlanner {
 public:
  VideoPlanner(std::uint64_t seed, int cameras);

  /// A new identity's appearance; returns its index.
  std::size_t person();
  /// A tracklet of `person` on `camera` with a frame count drawn from `frames` (inclusive).
  Tracklet& tracklet(Subset subset, std::int64_t pid, int camera, std::size_t person,
                     std::pair<int, int> frames);
  /// `count` distinct cameras in random order.
  std::vector<int> cameras(int count);
  /// A new person seen as `pid` by 2 or 3 cameras, one tracklet of 3-16 frames each: all in
  /// `subset`, except that a query identity has one query tracklet and the rest in the gallery.
  void identity(Subset subset, std::int64_t pid);

  std::mt19937_64& rng() { return rng_; }
  [[nodiscard]] int camera_count() const { return static_cast<int>(styles_.size()); }
  [[nodiscard]] std::vector<Tracklet>& tracklets() { return tracklets_; }
  [[nodiscard]] const std::vector<PersonAppearance>& people() const { return people_; }
  [[nodiscard]] const std::vector<CameraStyle>& styles() const { return styles_; }

 private:
  std::uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<CameraStyle> styles_;
  std::vector<PersonAppearance> people_;
  std::vector<Tracklet> tracklets_;
};

/// The path of frame `frame` (0-based) of a tracklet, relative to the root.
using FrameNaming = std::function<std::filesystem::path(const Tracklet&, int frame)>;

/// Names every frame (filling Tracklet::paths), then renders and writes them under `root`
/// (JPEG quality 90, or PNG, after the extension), frames in parallel. The same plan gives the
/// same files.
void write_tracklets(const std::filesystem::path& root, VideoPlanner& plan, cv::Size image_size,
                     const FrameNaming& naming);

/// The jitter of frame `frame` of a walk that starts from `start` and moves by `step` per
/// frame: drift across, a stride that swings, a slow zoom. Deterministic (no randomness).
struct Walk {
  ImageJitter start;
  double drift = 0.01;    ///< shift_x per frame, fraction of the width
  double zoom_rate = 0.004;  ///< zoom change per frame
  double phase = 0.0;        ///< of the stride's swing
  [[nodiscard]] ImageJitter at(int frame) const;
};

}  // namespace fgreid::datasets::synthetic
