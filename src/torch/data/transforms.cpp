#include <fgreid/data/transforms.hpp>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace fgreid::data {

namespace {

constexpr std::uint64_t kEraseSalt = 0xE8A5E;
constexpr std::array<float, 3> kMean{0.485f, 0.456f, 0.406f};  // RGB
constexpr std::array<float, 3> kStd{0.229f, 0.224f, 0.225f};

/// An integer uniform in [0, n], as torch.randint(0, n + 1) / random.randint(0, n) draw it.
int uniform_int(Rng& rng, int n) {
  return std::min(n, static_cast<int>(detail::uniform(rng) * (n + 1)));
}
double uniform(Rng& rng, double low, double high) {
  return low + (high - low) * detail::uniform(rng);
}

// ---- PIL's resampling (Pillow src/libImaging/Resample.c) ---------------------------------------
constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinear_filter(double x) {
  x = std::abs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double bicubic_filter(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

/// For each output pixel: first input pixel, tap count, and 22-bit fixed-point weights.
struct Coefficients {
  int taps = 0;  ///< stride of `weights`
  std::vector<int> first, count, weights;
};

Coefficients precompute(int in_size, int out_size, Interpolation interpolation) {
  const bool cubic = interpolation == Interpolation::bicubic;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = (cubic ? 2.0 : 1.0) * filterscale;
  Coefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.taps, 0);
  std::vector<double> w(c.taps);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double arg = (x + xmin - center + 0.5) * ss;
      w[x] = cubic ? bicubic_filter(arg) : bilinear_filter(arg);
      ww += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double k = ww != 0.0 ? w[x] / ww : w[x];
      c.weights[static_cast<std::size_t>(xx) * c.taps + x] =
          k < 0 ? static_cast<int>(-0.5 + k * (1 << kPrecisionBits))
                : static_cast<int>(0.5 + k * (1 << kPrecisionBits));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

inline std::uint8_t clip8(int value) {
  value >>= kPrecisionBits;
  return static_cast<std::uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

template <int C>
void resample_horizontal(const cv::Mat& in, cv::Mat& out, const Coefficients& k) {
  for (int y = 0; y < out.rows; ++y) {
    const auto* src = in.ptr<std::uint8_t>(y);
    auto* dst = out.ptr<std::uint8_t>(y);
    for (int x = 0; x < out.cols; ++x) {
      const int* weights = &k.weights[static_cast<std::size_t>(x) * k.taps];
      const std::uint8_t* p = src + k.first[x] * C;
      int ss[C];
      for (int c = 0; c < C; ++c) ss[c] = 1 << (kPrecisionBits - 1);
      for (int t = 0; t < k.count[x]; ++t)
        for (int c = 0; c < C; ++c) ss[c] += p[t * C + c] * weights[t];
      for (int c = 0; c < C; ++c) dst[x * C + c] = clip8(ss[c]);
    }
  }
}

void resample_vertical(const cv::Mat& in, cv::Mat& out, const Coefficients& k) {
  const int row_values = out.cols * out.channels();
  std::vector<int> ss(static_cast<std::size_t>(row_values));
  for (int y = 0; y < out.rows; ++y) {
    std::fill(ss.begin(), ss.end(), 1 << (kPrecisionBits - 1));
    const int* weights = &k.weights[static_cast<std::size_t>(y) * k.taps];
    for (int t = 0; t < k.count[y]; ++t) {
      const auto* src = in.ptr<std::uint8_t>(k.first[y] + t);
      const int weight = weights[t];
      for (int i = 0; i < row_values; ++i) ss[i] += src[i] * weight;  // vectorises
    }
    auto* dst = out.ptr<std::uint8_t>(y);
    for (int i = 0; i < row_values; ++i) dst[i] = clip8(ss[i]);
  }
}

/// Clamps (as PIL's blend does) and truncates toward zero (as its uint8 cast does).
inline std::uint8_t blend8(float degenerate, float value, float factor) {
  const float out = degenerate + factor * (value - degenerate);
  return out <= 0.0f ? 0 : (out >= 255.0f ? 255 : static_cast<std::uint8_t>(out));
}

/// PIL's convert("L") of one BGR pixel: ITU-R 601-2 luma in 16-bit fixed point.
inline int luma(const std::uint8_t* bgr) {
  return (bgr[2] * 19595 + bgr[1] * 38470 + bgr[0] * 7471 + 0x8000) >> 16;
}

}  // namespace

void resize_like_pil(const cv::Mat& in, cv::Mat& out, cv::Size size, Interpolation interpolation) {
  if (in.depth() != CV_8U) throw std::invalid_argument("resize_like_pil: 8-bit images only");
  if (size.width <= 0 || size.height <= 0)
    throw std::invalid_argument("resize_like_pil: the output size must be positive");
  const int channels = in.channels();
  cv::Mat horizontal = in;
  if (in.cols != size.width) {
    const auto k = precompute(in.cols, size.width, interpolation);
    horizontal.create(in.rows, size.width, in.type());
    switch (channels) {
      case 1: resample_horizontal<1>(in, horizontal, k); break;
      case 3: resample_horizontal<3>(in, horizontal, k); break;
      case 4: resample_horizontal<4>(in, horizontal, k); break;
      default: throw std::invalid_argument("resize_like_pil: 1, 3 or 4 channels");
    }
  }
  if (in.rows != size.height) {
    const auto k = precompute(in.rows, size.height, interpolation);
    cv::Mat vertical(size.height, size.width, in.type());
    resample_vertical(horizontal, vertical, k);
    out = vertical;
  } else {
    out = horizontal.data == in.data ? in.clone() : horizontal;
  }
}

void Resize::operator()(cv::Mat& image, Rng&, cv::Size size) const {
  if (image.size() != size) resize_like_pil(image, image, size, options.interpolation);
}

void RandomFlip::operator()(cv::Mat& image, Rng& rng, cv::Size) const {
  if (detail::uniform(rng) < options.flip_probability) cv::flip(image, image, 1);
}

void Pad::operator()(cv::Mat& image, Rng&, cv::Size) const {
  if (options.pad <= 0) return;
  cv::Mat padded;
  cv::copyMakeBorder(image, padded, options.pad, options.pad, options.pad, options.pad,
                     cv::BORDER_CONSTANT, cv::Scalar::all(0));
  image = padded;
}

void RandomCrop::operator()(cv::Mat& image, Rng& rng, cv::Size size) const {
  if (image.cols < size.width || image.rows < size.height)
    throw std::invalid_argument("crop: the image is smaller than the crop (pad before cropping)");
  const int y = uniform_int(rng, image.rows - size.height);
  const int x = uniform_int(rng, image.cols - size.width);
  image = image(cv::Rect(x, y, size.width, size.height));
}

void Translate::operator()(cv::Mat& image, Rng& rng, cv::Size size) const {
  if (detail::uniform(rng) >= options.translate_probability) {
    if (image.size() != size) resize_like_pil(image, image, size, Interpolation::bilinear);
    return;
  }
  const cv::Size up(static_cast<int>(std::nearbyint(size.width * options.upscale)),
                    static_cast<int>(std::nearbyint(size.height * options.upscale)));
  resize_like_pil(image, image, up, Interpolation::bilinear);
  const int x = static_cast<int>(std::nearbyint(uniform(rng, 0, up.width - size.width)));
  const int y = static_cast<int>(std::nearbyint(uniform(rng, 0, up.height - size.height)));
  image = image(cv::Rect(std::min(x, up.width - size.width), std::min(y, up.height - size.height),
                         size.width, size.height));
}

void adjust_brightness(cv::Mat& bgr, double factor) {
  const auto f = static_cast<float>(factor);
  bgr.forEach<cv::Vec3b>([f](cv::Vec3b& p, const int*) {
    for (int c = 0; c < 3; ++c) p[c] = blend8(0.0f, p[c], f);
  });
}

void adjust_contrast(cv::Mat& bgr, double factor) {
  double sum = 0;
  for (int y = 0; y < bgr.rows; ++y) {
    const auto* row = bgr.ptr<std::uint8_t>(y);
    for (int x = 0; x < bgr.cols; ++x) sum += luma(row + 3 * x);
  }
  const auto mean = static_cast<float>(static_cast<int>(sum / (bgr.rows * bgr.cols) + 0.5));
  const auto f = static_cast<float>(factor);
  bgr.forEach<cv::Vec3b>([f, mean](cv::Vec3b& p, const int*) {
    for (int c = 0; c < 3; ++c) p[c] = blend8(mean, p[c], f);
  });
}

void adjust_saturation(cv::Mat& bgr, double factor) {
  const auto f = static_cast<float>(factor);
  bgr.forEach<cv::Vec3b>([f](cv::Vec3b& p, const int*) {
    const auto gray = static_cast<float>(luma(p.val));
    for (int c = 0; c < 3; ++c) p[c] = blend8(gray, p[c], f);
  });
}

void adjust_hue(cv::Mat& bgr, double shift) {
  // PIL's HSV (libImaging/Convert.c) with the hue byte shifted modulo 256, as torchvision's
  // adjust_hue does on PIL images.
  const auto delta = static_cast<std::uint8_t>(static_cast<int>(shift * 255) & 0xFF);
  // Types as in Convert.c: float variables, double literals (so double arithmetic).
  bgr.forEach<cv::Vec3b>([delta](cv::Vec3b& p, const int*) {
    const std::uint8_t r = p[2], g = p[1], b = p[0];
    const std::uint8_t maxc = std::max({r, g, b}), minc = std::min({r, g, b});
    std::uint8_t h = 0, s = 0;
    const std::uint8_t v = maxc;
    auto clip8 = [](int x) { return static_cast<std::uint8_t>(std::clamp(x, 0, 255)); };
    if (minc != maxc) {
      const auto cr = static_cast<float>(maxc - minc);
      const float sf = cr / static_cast<float>(maxc);
      const float rc = static_cast<float>(maxc - r) / cr, gc = static_cast<float>(maxc - g) / cr,
                  bc = static_cast<float>(maxc - b) / cr;
      float hf = r == maxc ? bc - gc : (g == maxc ? 2.0f + rc - bc : 4.0f + gc - rc);
      hf = static_cast<float>(std::fmod(hf / 6.0 + 1.0, 1.0));
      h = clip8(static_cast<int>(hf * 255.0));
      s = clip8(static_cast<int>(sf * 255.0));
    }
    h = static_cast<std::uint8_t>(h + delta);
    if (s == 0) {
      p = cv::Vec3b(v, v, v);
      return;
    }
    const int i = static_cast<int>(std::floor(static_cast<float>(h) * 6.0 / 255.0));
    const auto f = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
    const auto fs = static_cast<float>(static_cast<float>(s) / 255.0);
    const std::uint8_t pp = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs)))),
                       q = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * f)))),
                       t = clip8(static_cast<int>(std::round(static_cast<float>(v) * (1.0 - fs * (1.0 - f)))));
    std::uint8_t rr, gg, bb;
    switch (i % 6) {
      case 0: rr = v, gg = t, bb = pp; break;
      case 1: rr = q, gg = v, bb = pp; break;
      case 2: rr = pp, gg = v, bb = t; break;
      case 3: rr = pp, gg = q, bb = v; break;
      case 4: rr = t, gg = pp, bb = v; break;
      default: rr = v, gg = pp, bb = q; break;
    }
    p = cv::Vec3b(bb, gg, rr);
  });
}

void ColorJitter::operator()(cv::Mat& image, Rng& rng, cv::Size) const {
  // torchvision's get_params: the order, then each factor (drawn only when enabled).
  std::array<int, 4> order{0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(order[i], order[uniform_int(rng, i)]);
  auto factor = [&](double spread) {
    return spread > 0 ? uniform(rng, std::max(0.0, 1 - spread), 1 + spread) : 1.0;
  };
  const double b = factor(options.brightness), c = factor(options.contrast),
               s = factor(options.saturation);
  const double h = options.hue > 0 ? uniform(rng, -options.hue, options.hue) : 0.0;
  for (const int step : order) {
    if (step == 0 && options.brightness > 0) adjust_brightness(image, b);
    if (step == 1 && options.contrast > 0) adjust_contrast(image, c);
    if (step == 2 && options.saturation > 0) adjust_saturation(image, s);
    if (step == 3 && options.hue > 0) adjust_hue(image, h);
  }
}

std::optional<cv::Rect> RandomErasing::draw(Rng& rng, int height, int width) const {
  if (detail::uniform(rng) >= options.erase_probability) return std::nullopt;
  const double area = static_cast<double>(height) * width;
  for (int attempt = 0; attempt < options.erase_tries; ++attempt) {
    const double target = uniform(rng, options.erase_area_min, options.erase_area_max) * area;
    const double aspect = uniform(rng, options.erase_aspect_min, 1.0 / options.erase_aspect_min);
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target * aspect)));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target / aspect)));
    if (w < width && h < height) {
      const int y = uniform_int(rng, height - h);
      const int x = uniform_int(rng, width - w);
      return cv::Rect(x, y, w, h);
    }
  }
  return std::nullopt;
}

void RandomErasing::operator()(float* chw, int height, int width, Rng& rng) const {
  const auto box = draw(rng, height, width);
  if (!box) return;
  for (int c = 0; c < 3; ++c)
    for (int y = box->y; y < box->y + box->height; ++y)
      std::fill_n(chw + (static_cast<std::ptrdiff_t>(c) * height + y) * width + box->x, box->width,
                  fill[static_cast<std::size_t>(c)]);
}

PipelineOptions bot_pipeline() { return PipelineOptions{}; }

PipelineOptions seed_pipeline() {
  PipelineOptions options;
  options.order.augment = {Step::flip, Step::pad, Step::translate, Step::erase};
  options.resize.interpolation = Interpolation::bicubic;
  options.erase.erase_keep_one = true;
  return options;
}

Pipeline::Pipeline(std::int64_t height, std::int64_t width, const PipelineOptions& options,
                   bool train)
    : height_(height), width_(width), resize_{options.resize} {
  if (height <= 0 || width <= 0) throw std::invalid_argument("Pipeline: size must be positive");
  if (!train) return;
  for (const Step step : options.order.augment) {
    switch (step) {
      case Step::flip: then(RandomFlip{options.flip}); break;
      case Step::pad: then(Pad{options.pad}); break;
      case Step::crop: then(RandomCrop{}); break;
      case Step::translate: then(Translate{options.translate}); break;
      case Step::jitter: then(ColorJitter{options.jitter}); break;
      case Step::erase: erase_ = RandomErasing{options.erase}; break;
    }
  }
}

Pipeline::Pipeline(const ImageTransform& transform)
    : height_(transform.height), width_(transform.width), resize_{{transform.interpolation}} {
  if (height_ <= 0 || width_ <= 0) throw std::invalid_argument("Pipeline: size must be positive");
  if (transform.flip_probability > 0) then(RandomFlip{{transform.flip_probability}});
}

bool Pipeline::erases(std::uint64_t seed) const {
  if (!erase_) return false;
  Rng rng(detail::mix_seed(seed, kEraseSalt));
  return erase_->draw(rng, static_cast<int>(height_), static_cast<int>(width_)).has_value();
}

void Pipeline::apply(const cv::Mat& decoded, std::uint64_t seed, float* out,
                     bool allow_erase) const {
  const cv::Size size(static_cast<int>(width_), static_cast<int>(height_));
  Rng rng(seed);
  cv::Mat image;
  if (decoded.size() != size)
    resize_like_pil(decoded, image, size, resize_.options.interpolation);
  else
    image = decoded.clone();
  for (const auto& step : steps_) step(image, rng, size);
  // A pipeline that ends off size (a pad without a crop) is brought back to H×W.
  if (image.size() != size) resize_like_pil(image, image, size, Interpolation::bilinear);

  // ToTensor + Normalize through one table per channel; BGR ─▶ RGB planes.
  static const auto tables = [] {
    std::array<std::array<float, 256>, 3> t{};
    for (int c = 0; c < 3; ++c)
      for (int v = 0; v < 256; ++v)
        t[c][v] = (static_cast<float>(v) / 255.0f - kMean[c]) / kStd[c];
    return t;
  }();
  const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(height_) * width_;
  for (int y = 0; y < size.height; ++y) {
    const auto* row = image.ptr<std::uint8_t>(y);
    float* r = out + static_cast<std::ptrdiff_t>(y) * size.width;
    float* g = r + plane;
    float* b = g + plane;
    for (int x = 0; x < size.width; ++x) {
      b[x] = tables[2][row[3 * x]];
      g[x] = tables[1][row[3 * x + 1]];
      r[x] = tables[0][row[3 * x + 2]];
    }
  }
  if (erase_ && allow_erase) {
    Rng erase_rng(detail::mix_seed(seed, kEraseSalt));
    (*erase_)(out, static_cast<int>(height_), static_cast<int>(width_), erase_rng);
  }
}

}  // namespace fgreid::data
