#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numbers>
#include <vector>

namespace fgreid::datasets {

// --- the cache --------------------------------------------------------------------------------

std::filesystem::path synthetic_cache_dir() {
  if (const char* cache = std::getenv("FGREID_CACHE"); cache != nullptr && *cache != '\0')
    return cache;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::filesystem::path(home) / ".cache" / "fgreid";
  return std::filesystem::temp_directory_path() / "fgreid-cache";
}

std::filesystem::path ensure_synthetic(
    std::string_view key, const std::function<void(const std::filesystem::path&)>& write) {
  const auto parent = synthetic_cache_dir() / "synthetic";
  const auto target = parent / key;
  const auto is_complete = [](const std::filesystem::path& folder) {
    return std::filesystem::exists(folder / ".complete");
  };
  if (is_complete(target)) return target;

  std::filesystem::create_directories(parent);
  auto scratch = parent / fmt::format("{}.tmp-{}", key, ::getpid());
  std::filesystem::remove_all(scratch);  // left by an earlier process that had our pid
  std::filesystem::create_directories(scratch);
  try {
    write(scratch);
    std::ofstream(scratch / ".complete") << "written by fgreid\n";
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
    throw;
  }

  // rename(2) replaces only a missing or empty folder: a complete tree renamed in by another
  // process first stays, and ours is discarded.
  std::error_code error;
  std::filesystem::rename(scratch, target, error);
  if (error && !is_complete(target)) {
    // An incomplete tree at the target was not made by ensure_synthetic (its renames are
    // atomic): a copy interrupted by hand, say. Replace it.
    std::filesystem::remove_all(target, error);
    std::filesystem::rename(scratch, target, error);
    if (error && !is_complete(target)) {
      std::filesystem::remove_all(scratch, error);
      throw DataError(fmt::format("{}: cannot create the synthetic data folder", target.string()));
    }
  }
  if (std::filesystem::exists(scratch)) std::filesystem::remove_all(scratch, error);
  return target;
}

namespace synthetic {

// --- randomness ----------------------------------------------------------------------------

double uniform(std::mt19937_64& rng, double lo, double hi) {
  const double unit = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // 53 bits in [0, 1)
  return lo + (hi - lo) * unit;
}

int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  const auto span = static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo + 1);
  return lo + static_cast<int>(rng() % span);  // the bias of % is below 2^-32 for small spans
}

bool chance(std::mt19937_64& rng, double p) { return uniform(rng, 0.0, 1.0) < p; }

double normal(std::mt19937_64& rng, double mean, double sd) {
  const double u1 = 1.0 - uniform(rng, 0.0, 1.0);  // in (0, 1]: log() stays finite
  const double u2 = uniform(rng, 0.0, 1.0);
  return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  // splitmix64 of a combination: neighbouring indices give unrelated streams.
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL + index + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

namespace {

double clamp_normal(std::mt19937_64& rng, double mean, double sd, double limit) {
  return std::clamp(normal(rng, mean, sd), mean - limit, mean + limit);
}

template <class T>
const T& pick(std::mt19937_64& rng, const std::vector<T>& items) {
  return items[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<int>(items.size()) - 1))];
}

// --- colours ---------------------------------------------------------------------------------

struct PaletteColour {
  cv::Scalar bgr;
  int weight;  ///< how common it is; dark clothes dominate, as in real footage
};

// Few colours, so that many identities share a top or a bottom colour and must be told apart
// by pattern, proportions, hair or bag.
const std::vector<PaletteColour>& palette() {
  static const std::vector<PaletteColour> colours = {
      {{28, 28, 28}, 5},     // black
      {{230, 230, 230}, 3},  // white
      {{125, 125, 125}, 3},  // grey
      {{95, 45, 25}, 3},     // navy
      {{200, 120, 40}, 2},   // blue
      {{40, 40, 190}, 2},    // red
      {{60, 135, 50}, 2},    // green
      {{40, 195, 225}, 1},   // yellow
      {{35, 70, 120}, 2},    // brown
      {{150, 190, 215}, 2},  // beige
      {{180, 140, 235}, 1},  // pink
      {{125, 50, 105}, 1},   // purple
  };
  return colours;
}

std::size_t palette_index(std::mt19937_64& rng) {
  const auto& colours = palette();
  int total = 0;
  for (const auto& colour : colours) total += colour.weight;
  int ticket = uniform_int(rng, 0, total - 1);
  for (std::size_t i = 0; i < colours.size(); ++i) {
    ticket -= colours[i].weight;
    if (ticket < 0) return i;
  }
  return colours.size() - 1;
}

/// A palette colour in the identity's own shade (a little lighter or darker, a little off).
cv::Scalar shade(std::mt19937_64& rng, const cv::Scalar& colour) {
  const double brightness = uniform(rng, 0.88, 1.12);
  cv::Scalar result;
  for (int c = 0; c < 3; ++c)
    result[c] = std::clamp(colour[c] * brightness + normal(rng, 0.0, 6.0), 0.0, 255.0);
  return result;
}

Garment random_garment(std::mt19937_64& rng, double pattern_chance) {
  Garment garment;
  const auto colour = palette_index(rng);
  auto accent = palette_index(rng);
  while (accent == colour) accent = palette_index(rng);
  garment.colour = shade(rng, palette()[colour].bgr);
  garment.accent = shade(rng, palette()[accent].bgr);
  garment.pattern = chance(rng, pattern_chance)
                        ? static_cast<Pattern>(uniform_int(rng, 1, 4))  // any but solid
                        : Pattern::solid;
  garment.period = uniform(rng, 0.03, 0.06);
  return garment;
}

cv::Scalar scaled(const cv::Scalar& colour, double factor) {
  return {std::clamp(colour[0] * factor, 0.0, 255.0), std::clamp(colour[1] * factor, 0.0, 255.0),
          std::clamp(colour[2] * factor, 0.0, 255.0)};
}

cv::Scalar mixed(const cv::Scalar& a, const cv::Scalar& b, double weight_of_b) {
  return a * (1.0 - weight_of_b) + b * weight_of_b;
}

// --- drawing ---------------------------------------------------------------------------------

using Polygon = std::vector<cv::Point2d>;

Polygon ellipse(cv::Point2d centre, double rx, double ry, double from_degrees = 0.0,
                double to_degrees = 360.0) {
  constexpr int steps = 28;
  Polygon points;
  for (int i = 0; i <= steps; ++i) {
    const double angle = (from_degrees + (to_degrees - from_degrees) * i / steps) *
                         std::numbers::pi / 180.0;
    points.emplace_back(centre.x + rx * std::cos(angle), centre.y + ry * std::sin(angle));
  }
  return points;
}

Polygon rectangle(cv::Point2d top_left, cv::Point2d bottom_right) {
  return {top_left, {bottom_right.x, top_left.y}, bottom_right, {top_left.x, bottom_right.y}};
}

/// A limb or strap from `from` to `to`, `width_from` wide at one end and `width_to` at the other.
Polygon limb(cv::Point2d from, cv::Point2d to, double width_from, double width_to) {
  const cv::Point2d along = to - from;
  const double length = std::max(std::hypot(along.x, along.y), 1e-9);
  const cv::Point2d across(-along.y / length, along.x / length);
  return {from + across * (width_from / 2), to + across * (width_to / 2),
          to - across * (width_to / 2), from - across * (width_from / 2)};
}

/// Where a garment's pattern starts and how large it is, in canvas pixels.
struct PatternFrame {
  cv::Point2d origin;
  double height = 1.0;
  double period = 1.0;
};

bool accent_at(Pattern pattern, double x, double y, const PatternFrame& frame) {
  const auto odd = [](double t) { return static_cast<long>(std::floor(t)) % 2 != 0; };
  const double u = (x - frame.origin.x) / frame.period, v = (y - frame.origin.y) / frame.period;
  switch (pattern) {
    case Pattern::solid: return false;
    case Pattern::horizontal_stripes: return odd(v);
    case Pattern::vertical_stripes: return odd(u + 0.5);  // symmetric about the body's axis
    case Pattern::checks: return odd(u + 0.5) != odd(v);
    case Pattern::two_tone: return y - frame.origin.y > 0.5 * frame.height;
  }
  return false;
}

/// The figure, drawn unsheared: premultiplied colour and coverage, both float, so that
/// anti-aliased edges survive the shear and the composite over the background.
class Figure {
 public:
  explicit Figure(cv::Size size)
      : colour_(size, CV_32FC3, cv::Scalar::all(0)), alpha_(size, CV_32FC1, cv::Scalar(0)),
        mask_(size, CV_8UC1) {}

  void paint(const Polygon& polygon, const Garment& garment, const PatternFrame& frame) {
    mask_.setTo(0);
    constexpr int shift = 3;  // sub-pixel vertices
    std::vector<cv::Point> points;
    points.reserve(polygon.size());
    for (const auto& p : polygon)
      points.emplace_back(cvRound(p.x * (1 << shift)), cvRound(p.y * (1 << shift)));
    cv::fillPoly(mask_, std::vector<std::vector<cv::Point>>{points}, cv::Scalar(255), cv::LINE_AA,
                 shift);
    const auto fixed = cv::boundingRect(points);
    const cv::Rect box = cv::Rect(cv::Point(fixed.x >> shift, fixed.y >> shift) - cv::Point(1, 1),
                                  cv::Point((fixed.x + fixed.width) >> shift,
                                            (fixed.y + fixed.height) >> shift) + cv::Point(2, 2)) &
                         cv::Rect({0, 0}, mask_.size());
    for (int y = box.y; y < box.y + box.height; ++y) {
      const auto* coverage = mask_.ptr<std::uint8_t>(y);
      auto* colour = colour_.ptr<cv::Vec3f>(y);
      auto* alpha = alpha_.ptr<float>(y);
      for (int x = box.x; x < box.x + box.width; ++x) {
        if (coverage[x] == 0) continue;
        const float a = coverage[x] / 255.0f;
        const auto& paint = accent_at(garment.pattern, x + 0.5, y + 0.5, frame) ? garment.accent
                                                                                : garment.colour;
        for (int c = 0; c < 3; ++c)
          colour[x][c] = colour[x][c] * (1.0f - a) + static_cast<float>(paint[c]) * a;
        alpha[x] = alpha[x] * (1.0f - a) + a;
      }
    }
  }

  void paint(const Polygon& polygon, const cv::Scalar& solid) {
    paint(polygon, Garment{.colour = solid, .accent = solid}, PatternFrame{});
  }

  /// Composites the figure over `canvas` (BGR 8-bit), sheared by `lean` about `pivot_y`.
  void composite(cv::Mat& canvas, double lean, double pivot_y) const {
    const cv::Matx23d shear(1.0, -lean, lean * pivot_y, 0.0, 1.0, 0.0);
    cv::Mat colour, alpha;
    cv::warpAffine(colour_, colour, shear, canvas.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    cv::warpAffine(alpha_, alpha, shear, canvas.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    for (int y = 0; y < canvas.rows; ++y) {
      auto* out = canvas.ptr<cv::Vec3b>(y);
      const auto* front = colour.ptr<cv::Vec3f>(y);
      const auto* coverage = alpha.ptr<float>(y);
      for (int x = 0; x < canvas.cols; ++x)
        for (int c = 0; c < 3; ++c)
          out[x][c] = cv::saturate_cast<std::uint8_t>(out[x][c] * (1.0f - coverage[x]) + front[x][c]);
    }
  }

 private:
  cv::Mat colour_, alpha_, mask_;
};

/// Draws `person` into `figure`: the figure `height` pixels tall, its head's top at `top`,
/// centred on `centre_x`.
void draw_person(Figure& figure, const PersonAppearance& person, const ImageJitter& jitter,
                 double centre_x, double top, double height) {
  // Shapes are built in person-local coordinates, in figure heights: x from the body's axis,
  // y down from the top of the head. Patterns are anchored in canvas pixels.
  const auto at = [&](double x, double y) {
    return cv::Point2d(centre_x + x * height, top + y * height);
  };
  const auto paint = [&](Polygon shape, const auto&... fill) {
    for (auto& point : shape) point = at(point.x, point.y);
    figure.paint(shape, fill...);
  };
  const double b = person.build;
  const double shoulder = 0.125 * b, hip = 0.092 * b;  // half widths
  const double y_shoulder = 0.17, y_hip = 0.49, y_knee = 0.71, y_ankle = 0.955;
  const double bag_side = (person.bag_on_left != jitter.mirrored) ? -1.0 : 1.0;
  const bool front = !jitter.from_behind;

  const PatternFrame top_frame{at(0, y_shoulder), (person.top_length - y_shoulder) * height,
                               person.top.period * height};
  const PatternFrame bottom_frame{at(0, y_hip), (y_ankle - y_hip) * height,
                                  person.bottom.period * height};

  const auto draw_long_hair = [&](double bottom) {
    paint(rectangle({-0.058, 0.06}, {0.058, bottom}), person.hair);
  };
  if (person.long_hair && front) draw_long_hair(0.24);

  // legs, each from the hip to the ankle; the stride spreads the feet
  for (const double side : {-1.0, 1.0}) {
    const cv::Point2d hip_joint(side * hip * 0.5, y_hip), ankle(side * (0.035 + jitter.stride * 0.5), y_ankle);
    const auto leg = limb(hip_joint, ankle, hip * 1.02, 0.045 * b);
    switch (person.legwear) {
      case Legwear::trousers: paint(leg, person.bottom, bottom_frame); break;
      case Legwear::shorts: {
        paint(leg, person.skin);
        const double reach = 0.3;  // of the leg's length
        paint(limb(hip_joint, hip_joint + (ankle - hip_joint) * reach, hip * 1.04, 0.075 * b),
              person.bottom, bottom_frame);
        break;
      }
      case Legwear::skirt: paint(leg, person.skin); break;
    }
    paint(ellipse(ankle + cv::Point2d(side * 0.008, 0.018), 0.036 * b, 0.02), person.shoes);
  }
  if (person.legwear == Legwear::skirt) {
    const double flare = hip * 1.45 + jitter.stride * 0.25;
    paint({{-hip * 1.05, y_hip - 0.03}, {hip * 1.05, y_hip - 0.03}, {flare, y_knee}, {-flare, y_knee}},
          person.bottom, bottom_frame);
  } else {
    paint(rectangle({-hip, y_hip - 0.04}, {hip, y_hip + 0.05}), person.bottom, bottom_frame);
  }

  // neck, then the top: shoulders to a hem that flares a little when it reaches the thighs
  paint(rectangle({-0.022 * b, 0.11}, {0.022 * b, y_shoulder + 0.02}), person.skin);
  const double hem = person.top_length;
  const double hem_half_width = hip * (1.0 + std::max(0.0, hem - y_hip) * 1.6);
  paint({{-shoulder * 0.82, y_shoulder - 0.012}, {shoulder * 0.82, y_shoulder - 0.012},
         {shoulder, y_shoulder + 0.02}, {hip * 0.98, 0.42}, {hem_half_width, hem},
         {-hem_half_width, hem}, {-hip * 0.98, 0.42}, {-shoulder, y_shoulder + 0.02}},
        person.top, top_frame);

  // the bag's straps lie on the top, the bag itself in front of the arm
  if (person.bag == Bag::backpack) {
    if (front) {
      for (const double side : {-1.0, 1.0})
        paint(limb({side * shoulder * 0.55, y_shoulder - 0.005},
                   {side * shoulder * 0.62, y_shoulder + 0.2}, 0.022, 0.022),
              person.bag_colour);
    } else {
      paint(rectangle({-shoulder * 0.72, y_shoulder + 0.03}, {shoulder * 0.72, y_shoulder + 0.27}),
            person.bag_colour);
    }
  } else if (person.bag == Bag::shoulder_bag) {
    paint(limb({-bag_side * shoulder * 0.6, y_shoulder}, {bag_side * hip * 1.1, 0.47}, 0.016, 0.016),
          scaled(person.bag_colour, 0.8));
  }
  if (person.long_hair && !front) draw_long_hair(0.27);

  // arms: sleeves in the top's pattern, hands in skin
  for (const double side : {-1.0, 1.0}) {
    const cv::Point2d shoulder_joint(side * (shoulder - 0.028 * b), y_shoulder + 0.02);
    const cv::Point2d hand(side * (shoulder + 0.012) - side * jitter.stride * 0.15, y_shoulder + 0.36);
    const auto arm = limb(shoulder_joint, hand, 0.06 * b, 0.045 * b);
    if (person.long_sleeves) {
      paint(arm, person.top, top_frame);
    } else {
      paint(arm, person.skin);
      paint(limb(shoulder_joint, shoulder_joint + (hand - shoulder_joint) * 0.38, 0.066 * b, 0.058 * b),
            person.top, top_frame);
    }
    paint(ellipse(hand + cv::Point2d(0, 0.015), 0.024, 0.028), person.skin);
  }
  if (person.bag == Bag::shoulder_bag)
    paint(rectangle({bag_side * hip * 1.05 - 0.045, 0.44}, {bag_side * hip * 1.05 + 0.045, 0.58}),
          person.bag_colour);

  // head: a face with a hair cap from the front, all hair from behind
  const cv::Point2d head(0, 0.072);
  if (front) {
    paint(ellipse(head, 0.05, 0.064), person.skin);
    paint(ellipse(head - cv::Point2d(0, 0.012), 0.054, 0.058, 180, 360), person.hair);
  } else {
    paint(ellipse(head, 0.053, 0.066), person.hair);
  }
}

void draw_background_texture(cv::Mat& canvas, const CameraStyle& camera, std::mt19937_64& rng,
                             int horizon) {
  const double period = std::max(4.0, camera.texture_size * canvas.cols);
  const double phase = uniform(rng, 0.0, period);
  const int line = std::max(1, canvas.cols / 64);
  switch (camera.texture) {
    case Texture::plain:
      for (int i = uniform_int(rng, 2, 4); i > 0; --i)
        cv::ellipse(canvas,
                    {uniform_int(rng, 0, canvas.cols), uniform_int(rng, 0, std::max(1, horizon))},
                    {uniform_int(rng, canvas.cols / 8, canvas.cols / 3),
                     uniform_int(rng, canvas.rows / 16, canvas.rows / 6)},
                    0, 0, 360, scaled(camera.wall, uniform(rng, 0.85, 1.15)), cv::FILLED,
                    cv::LINE_AA);
      break;
    case Texture::tiles:
      for (double y = horizon + period * 0.3; y < canvas.rows; y += period * 0.6)
        cv::line(canvas, {0, static_cast<int>(y)}, {canvas.cols, static_cast<int>(y)},
                 scaled(camera.floor, 0.75), line, cv::LINE_AA);
      for (double x = -phase; x < canvas.cols; x += period)
        cv::line(canvas, {static_cast<int>(x), horizon}, {static_cast<int>(x), canvas.rows},
                 scaled(camera.floor, 0.75), line, cv::LINE_AA);
      break;
    case Texture::bars:
      for (double x = -phase; x < canvas.cols; x += period)
        cv::rectangle(canvas, cv::Rect(static_cast<int>(x), 0, static_cast<int>(period / 2), horizon),
                      scaled(camera.wall, 0.78), cv::FILLED);
      break;
    case Texture::bricks: {
      const double row = period * 0.45;
      int index = 0;
      for (double y = std::fmod(phase, row); y < horizon; y += row, ++index) {
        cv::line(canvas, {0, static_cast<int>(y)}, {canvas.cols, static_cast<int>(y)},
                 scaled(camera.wall, 0.8), line);
        for (double x = (index % 2) * period / 2 - phase; x < canvas.cols; x += period)
          cv::line(canvas, {static_cast<int>(x), static_cast<int>(y)},
                   {static_cast<int>(x), static_cast<int>(std::min<double>(y + row, horizon))},
                   scaled(camera.wall, 0.8), line);
      }
      break;
    }
  }
}

}  // namespace

// --- appearance, camera, jitter ----------------------------------------------------------------

PersonAppearance random_person(std::mt19937_64& rng) {
  PersonAppearance person;
  person.top = random_garment(rng, 0.6);
  person.bottom = random_garment(rng, 0.15);
  const double legwear = uniform(rng, 0.0, 1.0);
  person.legwear = legwear < 0.7 ? Legwear::trousers : legwear < 0.85 ? Legwear::shorts
                                                                       : Legwear::skirt;
  person.long_sleeves = chance(rng, 0.6);
  person.top_length = chance(rng, 0.25) ? uniform(rng, 0.58, 0.66) : uniform(rng, 0.46, 0.52);
  static const std::vector<cv::Scalar> skins = {
      {180, 200, 235}, {150, 180, 220}, {120, 150, 195}, {80, 110, 150}, {55, 75, 105}};
  static const std::vector<cv::Scalar> hairs = {
      {20, 20, 22}, {25, 35, 50}, {30, 55, 90}, {90, 150, 190}, {150, 150, 155}, {35, 45, 130}};
  person.skin = shade(rng, pick(rng, skins));
  person.hair = shade(rng, pick(rng, hairs));
  person.long_hair = chance(rng, 0.35);
  person.shoes = chance(rng, 0.7) ? shade(rng, {30, 30, 30}) : shade(rng, {225, 225, 225});
  person.height = uniform(rng, 0.92, 1.05);
  person.build = uniform(rng, 0.95, 1.3);
  const double bag = uniform(rng, 0.0, 1.0);
  person.bag = bag < 0.5 ? Bag::none : bag < 0.75 ? Bag::backpack : Bag::shoulder_bag;
  person.bag_colour = shade(rng, palette()[palette_index(rng)].bgr);
  person.bag_on_left = chance(rng, 0.5);
  return person;
}

CameraStyle random_camera_style(std::mt19937_64& rng) {
  CameraStyle camera;
  camera.gain = uniform(rng, 0.85, 1.15);
  for (int c = 0; c < 3; ++c) camera.cast[c] = clamp_normal(rng, 1.0, 0.04, 0.08);
  const auto muted = [&](double lo, double hi) {
    const double grey = uniform(rng, lo, hi);
    return cv::Scalar(std::clamp(grey + normal(rng, 0, 14), 0.0, 255.0),
                      std::clamp(grey + normal(rng, 0, 14), 0.0, 255.0),
                      std::clamp(grey + normal(rng, 0, 14), 0.0, 255.0));
  };
  camera.wall = muted(70, 200);
  camera.floor = muted(60, 170);
  camera.horizon = uniform(rng, 0.45, 0.75);
  camera.texture = static_cast<Texture>(uniform_int(rng, 0, 3));
  camera.texture_size = uniform(rng, 0.12, 0.3);
  camera.scale = uniform(rng, 0.8, 0.92);
  camera.blur = uniform(rng, 0.2, 0.9);
  camera.noise = uniform(rng, 2.0, 6.0);
  return camera;
}

ImageJitter random_jitter(const CameraStyle& camera, std::mt19937_64& rng) {
  ImageJitter jitter;
  jitter.shift_x = clamp_normal(rng, 0.0, 0.04, 0.1);
  jitter.shift_y = clamp_normal(rng, 0.0, 0.02, 0.05);
  jitter.zoom = uniform(rng, 0.93, 1.05);
  jitter.lean = clamp_normal(rng, 0.0, 0.035, 0.08);
  jitter.stride = uniform(rng, 0.0, 0.12);
  jitter.from_behind = chance(rng, 0.5);
  jitter.mirrored = chance(rng, 0.5);
  for (auto& margin : jitter.crop) margin = uniform(rng, 0.0, 0.06);
  jitter.noise = camera.noise * uniform(rng, 0.7, 1.3);
  return jitter;
}

// --- rendering -------------------------------------------------------------------------------

cv::Mat render_background(const CameraStyle& camera, std::mt19937_64& rng, cv::Size size) {
  cv::Mat canvas(size, CV_8UC3, camera.wall);
  const int horizon = static_cast<int>((camera.horizon + normal(rng, 0.0, 0.02)) * size.height);
  cv::rectangle(canvas, cv::Rect(0, horizon, size.width, size.height - horizon), camera.floor,
                cv::FILLED);
  draw_background_texture(canvas, camera, rng, horizon);
  // Passers-by's belongings, bins, signs: colours that are nobody's identity.
  for (int i = uniform_int(rng, 0, 2); i > 0; --i) {
    const cv::Scalar colour = mixed(
        camera.wall, {uniform(rng, 0, 255), uniform(rng, 0, 255), uniform(rng, 0, 255)}, 0.6);
    const cv::Point centre(uniform_int(rng, 0, size.width), uniform_int(rng, 0, size.height));
    const cv::Size half(uniform_int(rng, size.width / 14, size.width / 5),
                        uniform_int(rng, size.height / 20, size.height / 7));
    if (chance(rng, 0.5))
      cv::rectangle(canvas, cv::Rect(centre - cv::Point(half), centre + cv::Point(half)), colour,
                    cv::FILLED);
    else
      cv::ellipse(canvas, centre, half, 0, 0, 360, colour, cv::FILLED, cv::LINE_AA);
  }
  return canvas;
}

void apply_camera(cv::Mat& image, const CameraStyle& camera, double noise, std::mt19937_64& rng) {
  cv::Mat light;
  image.convertTo(light, CV_32FC3);
  cv::multiply(light, camera.cast * camera.gain, light);
  if (camera.blur > 0.05) cv::GaussianBlur(light, light, cv::Size(0, 0), camera.blur);
  if (noise > 0.0) {
    cv::Mat grain(light.size(), CV_32FC3);
    cv::RNG sensor(rng());  // OpenCV's generator is seeded from ours: fast and deterministic
    sensor.fill(grain, cv::RNG::NORMAL, cv::Scalar::all(0.0), cv::Scalar::all(noise));
    light += grain;
  }
  light.convertTo(image, CV_8UC3);
}

cv::Mat render_person(const PersonAppearance& person, const CameraStyle& camera,
                      const ImageJitter& jitter, std::mt19937_64& rng, cv::Size size) {
  // Drawn at twice the size and averaged down: smooth edges and fine patterns without aliasing.
  constexpr int supersample = 2;
  const cv::Size large(size.width * supersample, size.height * supersample);
  cv::Mat canvas = render_background(camera, rng, large);

  const double height = large.height * camera.scale * jitter.zoom * person.height;
  const double top = (large.height - height) / 2.0 + jitter.shift_y * large.height;
  const double centre_x = large.width / 2.0 + jitter.shift_x * large.width;
  Figure figure(large);
  draw_person(figure, person, jitter, centre_x, top, height);
  figure.composite(canvas, jitter.lean, top + height);

  const auto [left, upper, right, lower] = jitter.crop;
  const cv::Rect kept(cv::Point(cvRound(left * large.width), cvRound(upper * large.height)),
                      cv::Point(cvRound((1.0 - right) * large.width),
                                cvRound((1.0 - lower) * large.height)));
  cv::Mat image;
  cv::resize(canvas(kept & cv::Rect({0, 0}, large)), image, size, 0, 0, cv::INTER_AREA);
  apply_camera(image, camera, jitter.noise, rng);
  return image;
}

cv::Mat render_person(const PersonAppearance& person, const CameraStyle& camera,
                      std::mt19937_64& rng, cv::Size size) {
  return render_person(person, camera, random_jitter(camera, rng), rng, size);
}

}  // namespace synthetic

}  // namespace fgreid::datasets
