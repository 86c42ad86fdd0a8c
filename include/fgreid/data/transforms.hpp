#pragma once
// Image augmentations as small policies, each with its own reflected Options, composed at run
// time into a Pipeline in the order a recipe (or --augment) names them.
//
//   decode ─▶ Resize ─▶ [flip | pad | crop | translate | jitter]* ─▶ normalise ─▶ [erase]
//                        uint8 HWC BGR (as OpenCV decodes)            float [3,H,W] RGB
//
//   seed_pipeline(): bicubic resize, flip 0.5, pad 10, translate (resize back or ×1.125 and
//                    crop), erase (last of an identity's K left clean when all K were erased)
//   bot_pipeline():  bilinear resize, flip 0.5, pad 10, random crop, erase
//
// Every draw of one image comes from a generator seeded by that image's seed (and erasing from
// a second one), so an image's augmentation depends on its seed only: not on the worker that
// runs it, not on the image's content. A clip's frames share one seed and so one draw.
#include <fgreid/enum_names.hpp>
#include <fgreid/options.hpp>

#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

namespace fgreid::data {

enum class Interpolation { bilinear, bicubic };

/// A training augmentation of a pipeline (after the resize; erase after normalising).
enum class Step { flip, pad, crop, translate, jitter, erase };

}  // namespace fgreid::data

namespace fgreid {
template <>
struct EnumNames<data::Interpolation> {
  static constexpr std::array<std::string_view, 2> values{"bilinear", "bicubic"};
};
template <>
struct EnumNames<data::Step> {
  static constexpr std::array<std::string_view, 6> values{"flip", "pad", "crop", "translate",
                                                          "jitter", "erase"};
};
}  // namespace fgreid

namespace fgreid::data {

/// The random source of one image or clip.
using Rng = std::mt19937_64;

namespace detail {
/// splitmix64 of (a, b): decorrelates nearby (seed, batch, item) triples.
constexpr std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/// A uniform double in [0, 1) from one draw.
inline double uniform(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
}  // namespace detail

/// PIL's resampling (Image.resize, as torchvision's Resize does on PIL images): separable,
/// antialiased when shrinking, bicubic with a = -0.5, 22-bit fixed-point coefficients. 8-bit,
/// any channel count; `out` is (re)allocated to `size`.
void resize_like_pil(const cv::Mat& in, cv::Mat& out, cv::Size size, Interpolation interpolation);

struct Resize {
  static constexpr std::string_view name = "resize";
  struct Options {
    /// Interpolation of the resize to --height × --width (training and test): bicubic or bilinear.
    Interpolation interpolation = Interpolation::bilinear;
    FGREID_REFLECT(Options, interpolation);
  };
  Options options;
  void operator()(cv::Mat& image, Rng&, cv::Size size) const;
};

struct RandomFlip {
  static constexpr std::string_view name = "flip";
  struct Options {
    /// Probability of a horizontal flip of a training image.
    double flip_probability = 0.5;
    FGREID_REFLECT(Options, flip_probability);
  };
  Options options;
  void operator()(cv::Mat& image, Rng& rng, cv::Size) const;
};

struct Pad {
  static constexpr std::string_view name = "pad";
  struct Options {
    /// Zero border added on every side by the pad step, in pixels.
    int pad = 10;
    FGREID_REFLECT(Options, pad);
  };
  Options options;
  void operator()(cv::Mat& image, Rng&, cv::Size) const;
};

/// torchvision's RandomCrop(H, W): a uniformly placed H×W window (the image must be at least
/// that large, as after a pad).
struct RandomCrop {
  static constexpr std::string_view name = "crop";
  struct Options {
    FGREID_REFLECT_NOTHING();
  };
  Options options;
  void operator()(cv::Mat& image, Rng& rng, cv::Size size) const;
};

/// torchreid's Random2DTranslation, the seed's step after the pad: with probability
/// 1 − p resize back to H×W; otherwise resize to round(upscale·W)×round(upscale·H) and crop a
/// uniformly placed H×W window (both bilinear).
struct Translate {
  static constexpr std::string_view name = "translate";
  struct Options {
    /// Probability that the translate step upscales and crops instead of resizing back to H×W.
    double translate_probability = 0.5;
    /// Upscaling factor of the translate step before its random crop.
    double upscale = 1.125;
    FGREID_REFLECT(Options, translate_probability, upscale);
  };
  Options options;
  void operator()(cv::Mat& image, Rng& rng, cv::Size size) const;
};

/// torchvision's ColorJitter: brightness, contrast, saturation and hue factors drawn
/// uniformly, applied in a random order; 0 leaves that property alone.
struct ColorJitter {
  static constexpr std::string_view name = "jitter";
  struct Options {
    /// Jitter step: brightness factor drawn from [1 − b, 1 + b].
    double brightness = 0.2;
    /// Jitter step: contrast factor drawn from [1 − c, 1 + c].
    double contrast = 0.15;
    /// Jitter step: saturation factor drawn from [1 − s, 1 + s].
    double saturation = 0.0;
    /// Jitter step: hue shift drawn from [−h, h] (fraction of the colour circle, at most 0.5).
    double hue = 0.0;
    FGREID_REFLECT(Options, brightness, contrast, saturation, hue);
  };
  Options options;
  void operator()(cv::Mat& image, Rng& rng, cv::Size) const;
};

/// The single adjustments of ColorJitter (torchvision.transforms.functional's), on 8-bit BGR.
void adjust_brightness(cv::Mat& bgr, double factor);
void adjust_contrast(cv::Mat& bgr, double factor);
void adjust_saturation(cv::Mat& bgr, double factor);
void adjust_hue(cv::Mat& bgr, double shift);

/// Random erasing (Zhong et al., as torchreid and BoT implement it) of a normalised image:
/// with probability p, up to `tries` boxes of area U(area_min, area_max)·HW and aspect
/// U(aspect_min, 1/aspect_min) are drawn until one fits, and it is filled with `fill`.
struct RandomErasing {
  static constexpr std::string_view name = "erase";
  struct Options {
    /// Probability of erasing a random box of a training image.
    double erase_probability = 0.5;
    /// Smallest erased area, as a fraction of the image.
    double erase_area_min = 0.02;
    /// Largest erased area, as a fraction of the image.
    double erase_area_max = 0.4;
    /// Smallest height/width ratio of the erased box (the largest is its inverse).
    double erase_aspect_min = 0.3;
    /// Boxes drawn until one fits inside the image; none fits: the image is left as it is.
    int erase_tries = 100;
    /// When every image of an identity's run in a batch (its K consecutive images) was erased, leave the last clean (the seed's rule).
    bool erase_keep_one = false;
    FGREID_REFLECT(Options, erase_probability, erase_area_min, erase_area_max, erase_aspect_min,
                   erase_tries, erase_keep_one);
  };
  Options options;
  /// Written into each channel of the normalised tensor (the ImageNet mean, as the seed does).
  std::array<float, 3> fill{0.485f, 0.456f, 0.406f};

  /// The box this generator's draws erase (x, y, width, height), or none.
  [[nodiscard]] std::optional<cv::Rect> draw(Rng& rng, int height, int width) const;
  /// Erases a drawn box of `chw` [3, height, width].
  void operator()(float* chw, int height, int width, Rng& rng) const;
};

/// @brief A concept matching augmentations of a decoded image.
/// Satisfied by policies with reflected Options that change an 8-bit BGR cv::Mat in place,
/// drawing from the image's generator, given the pipeline's output size.
template <class A>
concept ImageAugmentation = ReflectedOptions<typename A::Options> &&
                            requires(const A a, cv::Mat& image, Rng& rng, cv::Size size) {
                              { A::name } -> std::convertible_to<std::string_view>;
                              a(image, rng, size);
                            };

/// The whole configuration of a pipeline: the order of its steps and each step's Options
/// (each a flag group of its own fields, under "augmentation"). The defaults are BoT's.
struct PipelineOptions {
  struct Order {
    /// Training augmentations after the resize, in order: flip, pad, crop, translate (the seed's resize back or upscale and crop), jitter, erase (always last).
    std::vector<Step> augment = {Step::flip, Step::pad, Step::crop, Step::erase};
    FGREID_REFLECT(Order, augment);
  };
  static constexpr std::string_view flag_group = "augmentation";
  /// The order of the training steps (--augment).
  Order order;
  /// The resize (--interpolation).
  Resize::Options resize;
  /// The horizontal flip's knobs.
  RandomFlip::Options flip;
  /// The padding's knobs.
  Pad::Options pad;
  /// The seed's translation's knobs.
  Translate::Options translate;
  /// The colour jitter's knobs.
  ColorJitter::Options jitter;
  /// Random erasing's knobs.
  RandomErasing::Options erase;
  FGREID_REFLECT(PipelineOptions, order, resize, flip, pad, translate, jitter, erase);
};

/// BoT's training pipeline (Luo et al. 2019): bilinear resize, flip, pad 10 + random crop, erase.
PipelineOptions bot_pipeline();
/// The FGReID seed's (tools/transforms2.py, seed-facts §3), in its order: bicubic resize, flip,
/// pad 10, translate, normalise, erase with its keep-one rule.
PipelineOptions seed_pipeline();

/// What the test-time transform and the older single-purpose callers ask for: a resize to
/// height × width, optionally a random flip, then normalisation.
struct ImageTransform {
  std::int64_t height = 256;
  std::int64_t width = 128;
  double flip_probability = 0.0;
  Interpolation interpolation = Interpolation::bilinear;
};

/// A composed transform: decoded 8-bit BGR image ─▶ normalised float [3, H, W] RGB.
class Pipeline {
 public:
  using ImageStep = std::function<void(cv::Mat&, Rng&, cv::Size)>;

  /// Training pipeline (`train`) or the test-time one (resize + normalise) of `options`.
  Pipeline(std::int64_t height, std::int64_t width, const PipelineOptions& options, bool train);
  /// Resize (+ flip when its probability is positive) + normalise.
  Pipeline(const ImageTransform& transform);  // NOLINT: implicit, for the older callers

  /// Appends an augmentation before normalisation (composition in code).
  template <ImageAugmentation A>
  Pipeline& then(A augmentation) {
    steps_.emplace_back([a = std::move(augmentation)](cv::Mat& m, Rng& r, cv::Size s) { a(m, r, s); });
    return *this;
  }

  [[nodiscard]] std::int64_t height() const { return height_; }
  [[nodiscard]] std::int64_t width() const { return width_; }
  /// Whether a batch's runs of one identity keep their last image clean (erase_keep_one).
  [[nodiscard]] bool keeps_one_clean() const { return erase_ && erase_->options.erase_keep_one; }
  /// Whether the image (or clip) with this seed gets an erased box.
  [[nodiscard]] bool erases(std::uint64_t seed) const;

  /// Transforms `decoded` (left untouched) with the draws of `seed` into `out`, a contiguous
  /// float [3, H, W]; `allow_erase` false skips erasing (the keep-one rule).
  void apply(const cv::Mat& decoded, std::uint64_t seed, float* out, bool allow_erase = true) const;

 private:
  std::int64_t height_, width_;
  Resize resize_;
  std::vector<ImageStep> steps_;
  std::optional<RandomErasing> erase_;
};

}  // namespace fgreid::data
