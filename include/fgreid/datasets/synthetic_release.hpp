#pragma once
// A small synthetic release in any layout: the generic planner behind the synthetic stand-ins
// of DukeMTMC-reID, MSMT17, VeRi-776 and VRIC (Market-1501 has its own, with its clock and
// junk). Identities are drawn with synthetic.hpp's renderer and seen by the release's number
// of cameras; each dataset names the files its own way through a callback.
#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fgreid::datasets::synthetic {

enum class Subset { train, query, gallery };

/// One image of the release, decided before anything is drawn.
struct Sighting {
  Subset subset = Subset::train;
  std::int64_t pid = 0;    ///< the release's id, as it will be written
  int camera = 0;          ///< 0-based
  std::int64_t frame = 0;  ///< on the camera's clock; distinct for one id on one camera
  int index = 0;           ///< 0-based count of this id's images in this subset
  std::filesystem::path path;  ///< relative to the root, from the dataset's naming
};

struct ReleaseSpec {
  int cameras = 8;
  cv::Size image_size{64, 128};  ///< W×H
  std::vector<std::int64_t> train_pids, test_pids;
  /// Gallery-only identities, one or two images each (DukeMTMC-reID's distractors).
  std::vector<std::int64_t> distractor_pids;
  /// How many cameras see one identity, inclusive.
  std::pair<int, int> cameras_per_id{2, 4};
  /// Training images per camera of an identity, inclusive.
  std::pair<int, int> train_per_camera{2, 3};
  /// Gallery images per camera of a test identity, inclusive. A test identity has one query on
  /// its first camera and gallery images on its other cameras only, so every query has a
  /// cross-camera match.
  std::pair<int, int> gallery_per_camera{2, 3};
};

/// The path of a sighting relative to the root (folders included).
using Naming = std::function<std::filesystem::path(const Sighting&)>;

/// `count` distinct ids drawn from [lo, hi], ascending.
std::vector<std::int64_t> draw_ids(std::uint64_t seed, int count, std::int64_t lo, std::int64_t hi);

/// Plans, renders and writes the release under `root` (JPEG quality 90), every image from its
/// own seed (so the tree is the same for the same seed); returns the sightings in plan order
/// (train, then query and gallery per test identity, then distractors).
std::vector<Sighting> write_release(const std::filesystem::path& root, const ReleaseSpec& spec,
                                    const Naming& naming, std::uint64_t seed);

/// A one-line README.txt at `file` saying what wrote the tree.
void write_synthetic_readme(const std::filesystem::path& file, std::string_view dataset,
                            std::uint64_t seed);

}  // namespace fgreid::datasets::synthetic
