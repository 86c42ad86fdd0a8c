#pragma once
// VehicleID (Liu et al., CVPR 2016): 26267 vehicles seen from the front or the back by road
// cameras; no camera labels.
//
//   <root>/[VehicleID_V1.0/]image/0000001.jpg …
//   <root>/[VehicleID_V1.0/]train_test_split/train_list.txt         lines "0000001 1"
//   <root>/[VehicleID_V1.0/]train_test_split/test_list_{800,1600,2400}.txt
//
// A list line is an image name without `.jpg` and a vehicle id. Training uses every image of
// train_list.txt. The test protocol (the seed's and the paper's) draws one image of each test
// vehicle into the gallery and makes the others queries: here exactly as the seed draws it,
// CPython's random.seed(S) then one random.choice per vehicle, vehicles in the order they first
// appear in the list.
//
// Cameras: the release has none and the seed gives every image camera 1 and evaluates without
// the same-camera rule (eval_vehicleid). Here training images and queries are camera 0 and the
// gallery camera 1, so the evaluators' same-camera rule removes nothing and the ranking is
// eval_vehicleid's.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

namespace fgreid::datasets {

/// For vehicles with `image_counts[v]` images each (in list order), the index of the image
/// that random.choice puts in the gallery after random.seed(seed).
[[nodiscard]] std::vector<std::size_t> vehicleid_gallery_draw(
    const std::vector<std::size_t>& image_counts, std::int64_t seed);

/// Writes the synthetic stand-in in the release's layout (VehicleID_V1.0/) under `root`: 120
/// training vehicles and test lists of 40, 80 and 120 vehicles standing for 800, 1600, 2400.
void write_synthetic_vehicleid(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The VehicleID dataset policy.
struct VehicleID {
  static constexpr std::string_view name = "VehicleID";
  static constexpr Modality modality = Modality::image;
  struct Options {
    /// Test list: test_list_N.txt with N = 800 (small, the seed's), 1600 (medium) or 2400 (large).
    int test_size = 800;
    /// Python random.seed of the gallery draw (one image per test vehicle); 1 is the seed's.
    std::int64_t gallery_seed = 1;
    /// Gallery draws per evaluation (seeds gallery-seed, gallery-seed + 1, …), metrics averaged; --trials 1 --gallery-seed 1 is the seed's single draw.
    int trials = 10;
    /// The validation split carved out of the training identities (--validation, --validation-seed).
    ValidationOptions held_out;
    FGREID_REFLECT(Options, test_size, gallery_seed, trials, held_out);
  };

  /// Reads train_list.txt and test_list_<test-size>.txt of `root` or `root`/VehicleID_V1.0/;
  /// every listed image must exist in image/.
  static Splits load(const std::filesystem::path& root, const Options& options);
  /// Writes the synthetic stand-in into the empty folder `root`.
  static void synthesize(const std::filesystem::path& root, const Options& options);
};

static_assert(Dataset<VehicleID>);

}  // namespace fgreid::datasets
