#pragma once
// Synthetic stand-ins for the releases: the default data when no --data-root is given.
//
// The renderer draws simple people (and, later, vehicles) whose identity lives in clothing
// colours, patterns, proportions and accessories, seen by cameras that each have their own
// lighting, colour cast, background, scale and blur. Colours come from a small palette, so
// identities share colours and colour alone does not separate them: the data is learnable
// from scratch in minutes but not trivial. Everything is drawn from a seeded
// std::mt19937_64, and only its raw output is used (never the std distributions, which
// differ between standard libraries), so a seed gives the same images everywhere.
#include <opencv2/core.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string_view>

namespace fgreid::datasets {

// --- the cache --------------------------------------------------------------------------------

/// $FGREID_CACHE if set and not empty, else $HOME/.cache/fgreid.
[[nodiscard]] std::filesystem::path synthetic_cache_dir();

/// `<cache>/synthetic/<key>`, written by `write` the first time it is asked for.
/// `write` fills a fresh private folder that is renamed into place only once complete, so
/// concurrent or interrupted runs never see a partial tree; when two processes race, the
/// first rename wins and the other's copy is discarded.
std::filesystem::path ensure_synthetic(
    std::string_view key, const std::function<void(const std::filesystem::path&)>& write);

namespace synthetic {

// --- randomness: from the raw 64-bit output only, for identical results on every platform --

/// Uniform in [lo, hi).
double uniform(std::mt19937_64& rng, double lo, double hi);
/// Uniform in [lo, hi], both included.
int uniform_int(std::mt19937_64& rng, int lo, int hi);
/// True with probability `p`.
bool chance(std::mt19937_64& rng, double p);
/// Normally distributed (Box–Muller).
double normal(std::mt19937_64& rng, double mean, double sd);
/// A seed for an independent stream: image `index` of a tree generated from `seed`.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index);

// --- appearance of a person ----------------------------------------------------------------

enum class Pattern { solid, horizontal_stripes, vertical_stripes, checks, two_tone };

/// A piece of clothing: a palette colour, and a second one for its pattern.
struct Garment {
  cv::Scalar colour;  ///< BGR
  cv::Scalar accent;  ///< BGR, the stripes / checks / lower part of a two-tone garment
  Pattern pattern = Pattern::solid;
  double period = 0.05;  ///< stripe / check size as a fraction of the figure's height
};

enum class Legwear { trousers, shorts, skirt };
enum class Bag { none, backpack, shoulder_bag };

struct PersonAppearance {
  Garment top;
  Garment bottom;
  Legwear legwear = Legwear::trousers;
  bool long_sleeves = true;
  /// How far the top reaches down the figure, from 0.45 (a short jacket) to 0.65 (a coat).
  double top_length = 0.5;
  cv::Scalar skin;
  cv::Scalar hair;
  bool long_hair = false;
  cv::Scalar shoes;
  /// Body proportions, relative to the average figure.
  double height = 1.0;
  double build = 1.0;  ///< width of shoulders, hips and limbs
  Bag bag = Bag::none;
  cv::Scalar bag_colour;
  bool bag_on_left = false;
};

/// A random identity: palette colours (shared between identities), pattern and proportions.
PersonAppearance random_person(std::mt19937_64& rng);

// --- a camera ------------------------------------------------------------------------------

enum class Texture { plain, tiles, bars, bricks };

struct CameraStyle {
  double gain = 1.0;                   ///< illumination, multiplies every channel
  cv::Scalar cast{1.0, 1.0, 1.0, 0.0};  ///< per-channel (BGR) colour cast
  cv::Scalar wall;                     ///< background above the horizon, BGR
  cv::Scalar floor;                    ///< background below the horizon, BGR
  double horizon = 0.6;                ///< height of the wall/floor edge, fraction of the image
  Texture texture = Texture::plain;
  double texture_size = 0.1;  ///< size of a tile / bar / brick, fraction of the image width
  double scale = 0.88;        ///< figure height as a fraction of the image height
  double blur = 0.5;          ///< Gaussian σ in output pixels
  double noise = 3.0;         ///< typical sensor noise σ in grey levels
};

/// A random camera: lighting, cast, background, how large and sharp people appear.
CameraStyle random_camera_style(std::mt19937_64& rng);

// --- one image -----------------------------------------------------------------------------

/// What changes from one image of the same person and camera to the next.
struct ImageJitter {
  double shift_x = 0.0;  ///< horizontal offset of the figure, fraction of the width
  double shift_y = 0.0;  ///< vertical offset, fraction of the height
  double zoom = 1.0;     ///< figure size relative to the camera's scale
  double lean = 0.0;     ///< horizontal shear, pixels per pixel of height above the feet
  double stride = 0.1;   ///< leg and arm swing, fraction of the figure height
  bool from_behind = false;  ///< seen from the back: no face, the backpack in full
  bool mirrored = false;     ///< facing the other way: the bag on the other side
  std::array<double, 4> crop{};  ///< margins cut off left, top, right, bottom (fractions)
  double noise = 3.0;            ///< Gaussian noise σ in grey levels
};

/// Typical variation for a camera, e.g. noise around the camera's own level.
ImageJitter random_jitter(const CameraStyle& camera, std::mt19937_64& rng);

/// The camera's background with a few random objects in it, `size`, BGR 8-bit, before the
/// camera's lighting (apply_camera) is applied.
cv::Mat render_background(const CameraStyle& camera, std::mt19937_64& rng, cv::Size size);

/// The camera's lighting, colour cast, blur and the image's noise, in place on BGR 8-bit.
void apply_camera(cv::Mat& image, const CameraStyle& camera, double noise, std::mt19937_64& rng);

/// One image of a person, `size` (W×H), BGR 8-bit.
cv::Mat render_person(const PersonAppearance& person, const CameraStyle& camera,
                      const ImageJitter& jitter, std::mt19937_64& rng, cv::Size size);

/// One image of a person with random_jitter().
cv::Mat render_person(const PersonAppearance& person, const CameraStyle& camera,
                      std::mt19937_64& rng, cv::Size size);

}  // namespace synthetic

}  // namespace fgreid::datasets
