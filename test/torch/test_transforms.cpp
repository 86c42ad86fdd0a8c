// Each augmentation against an independent reference: PIL / torchvision 0.26 (run with
// FGREID_PYTHON) for the resizes, pad + crop, translate, jitter and the test transform, and a
// Python transcription of Zhong et al.'s random erasing (torchreid's, the seed's) for its
// statistics.
#include <fgreid/data/loader.hpp>
#include <fgreid/data/transforms.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "reference.hpp"
#include "support.hpp"

#include <cmath>
#include <set>

namespace fd = fgreid::data;
using fgreid::test::read_binary;
using fgreid::test::run_python_reference;
using fgreid::test::TempDir;

namespace {

/// A photo-like test image: smooth gradients plus noise, written as PNG (lossless) so that
/// PIL and OpenCV read the same pixels.
cv::Mat test_image(int height, int width, std::uint32_t seed) {
  cv::Mat image(height, width, CV_8UC3);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> noise(-40, 40);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        image.at<cv::Vec3b>(y, x)[c] = static_cast<std::uint8_t>(
            std::clamp(80 + 60 * c + x * 3 - y + noise(random), 0, 255));
  return image;
}

/// `image` (BGR) as the RGB bytes PIL would hold.
std::vector<std::uint8_t> rgb_bytes(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return {rgb.datastart, rgb.dataend};
}

constexpr const char* kPython = R"(
import json, sys, numpy as np
from PIL import Image
folder = sys.argv[1]
def load(name):
    return Image.open(f"{folder}/{name}").convert("RGB")
def save(name, image):
    np.asarray(image, dtype=np.uint8).tofile(f"{folder}/{name}")
)";

}  // namespace

TEST_CASE("resize matches PIL's (torchvision's Resize on PIL images) byte for byte") {
  TempDir dir;
  // Up (Market's 128×64 to 256×128), down (antialiased in PIL) and one axis only.
  const std::vector<std::tuple<int, int, int, int>> cases{
      {128, 64, 256, 128}, {300, 170, 256, 128}, {276, 148, 256, 128}, {128, 64, 128, 50}};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto [h, w, H, W] = cases[i];
    cv::imwrite((dir / fmt::format("in{}.png", i)).string(), test_image(h, w, 17 + i));
  }
  run_python_reference(std::string(kPython) + fmt::format(R"(
cases = {}
for i, (h, w, H, W) in enumerate(cases):
    img = load(f"in{{i}}.png")
    save(f"bicubic{{i}}.u8", img.resize((W, H), Image.BICUBIC))
    save(f"bilinear{{i}}.u8", img.resize((W, H), Image.BILINEAR))
print(json.dumps({{}}))
)", nlohmann::json(cases).dump()), dir);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto [h, w, H, W] = cases[i];
    const cv::Mat in = cv::imread((dir / fmt::format("in{}.png", i)).string());
    for (const auto interpolation : {fd::Interpolation::bicubic, fd::Interpolation::bilinear}) {
      const auto name = interpolation == fd::Interpolation::bicubic ? "bicubic" : "bilinear";
      CAPTURE(name);
      CAPTURE(i);
      cv::Mat out;
      fd::resize_like_pil(in, out, cv::Size(W, H), interpolation);
      const auto expected = read_binary<std::uint8_t>(dir / fmt::format("{}{}.u8", name, i),
                                                      static_cast<std::size_t>(H * W * 3));
      CHECK((rgb_bytes(out) == expected));
    }
  }
}

TEST_CASE("the test transform is torchvision's Resize(bicubic) + ToTensor + Normalize") {
  TempDir dir;
  cv::imwrite((dir / "in.png").string(), test_image(128, 64, 3));
  run_python_reference(std::string(kPython) + R"(
import torch, torchvision.transforms as T
t = T.Compose([T.Resize((256, 128), interpolation=T.InterpolationMode.BICUBIC), T.ToTensor(),
               T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
t(load("in.png")).numpy().astype(np.float32).tofile(f"{folder}/out.f32")
print(json.dumps({}))
)", dir);
  const fd::Pipeline pipeline(256, 128, fd::seed_pipeline(), /*train=*/false);
  auto out = torch::empty({3, 256, 128});
  fd::load_image(dir / "in.png", pipeline, 0, out);
  const auto expected = read_binary<float>(dir / "out.f32", 3 * 256 * 128);
  const auto reference = torch::from_blob(const_cast<float*>(expected.data()), {3, 256, 128});
  // Same bytes after the resize; torchvision divides by 255 and normalises in float32 too, in
  // a different order: a few ulps.
  CHECK((out - reference).abs().max().item<float>() < 1e-5f);
}

TEST_CASE("pad + random crop is a window of the zero-padded image, placed uniformly") {
  TempDir dir;
  const cv::Mat image = test_image(64, 32, 5);
  fd::Pad pad{{10}};
  fd::RandomCrop crop;
  cv::Mat padded = image.clone();
  fd::Rng unused(0);
  pad(padded, unused, {32, 64});
  REQUIRE(padded.size() == cv::Size(52, 84));
  // Reference padding: numpy's constant pad of the original.
  cv::imwrite((dir / "in.png").string(), image);
  run_python_reference(std::string(kPython) + R"(
import torchvision.transforms.functional as F
save("padded.u8", F.pad(load("in.png"), 10, fill=0))
print(json.dumps({}))
)", dir);
  CHECK((rgb_bytes(padded) == read_binary<std::uint8_t>(dir / "padded.u8", 84 * 52 * 3)));

  std::set<std::pair<int, int>> offsets;
  for (std::uint64_t seed = 0; seed < 6000; ++seed) {
    cv::Mat out = padded.clone();
    fd::Rng rng(seed);
    crop(out, rng, {32, 64});
    REQUIRE(out.size() == cv::Size(32, 64));
    // Find the window: the offset is where the crop's top-left sits in the padded image.
    std::optional<std::pair<int, int>> found;
    for (int y = 0; y <= 20 && !found; ++y)
      for (int x = 0; x <= 20 && !found; ++x)
        if (cv::norm(out, padded(cv::Rect(x, y, 32, 64)), cv::NORM_INF) == 0) found = {y, x};
    REQUIRE(found);
    offsets.insert(*found);
  }
  // 21 × 21 possible offsets, 6000 draws: every one is hit (expected misses 441·e^(−13.6) < 0.001).
  CHECK(offsets.size() == 21 * 21);
}

TEST_CASE("translate: resize back with probability 1 - p, else upscale 1.125 and crop (PIL bilinear)") {
  TempDir dir;
  const cv::Mat padded = test_image(276, 148, 9);  // a 256×128 image after pad 10
  cv::imwrite((dir / "in.png").string(), padded);
  run_python_reference(std::string(kPython) + R"(
img = load("in.png")
save("back.u8", img.resize((128, 256), Image.BILINEAR))
save("up.u8", img.resize((144, 288), Image.BILINEAR))
print(json.dumps({}))
)", dir);
  const auto back = read_binary<std::uint8_t>(dir / "back.u8", 256 * 128 * 3);
  const auto up_bytes = read_binary<std::uint8_t>(dir / "up.u8", 288 * 144 * 3);
  cv::Mat up(288, 144, CV_8UC3, const_cast<std::uint8_t*>(up_bytes.data()));
  const fd::Translate translate{{0.5, 1.125}};
  int resized_back = 0, cropped = 0;
  std::set<std::pair<int, int>> offsets;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    cv::Mat out = padded.clone();
    fd::Rng rng(seed);
    translate(out, rng, {128, 256});
    REQUIRE(out.size() == cv::Size(128, 256));
    const auto bytes = rgb_bytes(out);
    if (bytes == back) {
      ++resized_back;
      continue;
    }
    bool found = false;
    for (int y = 0; y <= 32 && !found; ++y)
      for (int x = 0; x <= 16 && !found; ++x) {
        cv::Mat window = up(cv::Rect(x, y, 128, 256)).clone();
        if (std::equal(bytes.begin(), bytes.end(), window.data)) {
          found = true;
          offsets.insert({y, x});
        }
      }
    CHECK_MESSAGE(found, "seed " << seed << ": neither resized back nor a crop of the upscale");
    cropped += found;
  }
  CHECK(resized_back + cropped == 400);
  CHECK(std::abs(resized_back - 200) < 40);  // binomial(400, 0.5): sd 10
  CHECK(offsets.size() > 100);               // crops spread over the 33 × 17 offsets
}

TEST_CASE("colour jitter adjustments match torchvision's functional ones on PIL images") {
  TempDir dir;
  const cv::Mat image = test_image(64, 32, 21);
  cv::imwrite((dir / "in.png").string(), image);
  run_python_reference(std::string(kPython) + R"(
import torchvision.transforms.functional as F
img = load("in.png")
save("brightness.u8", F.adjust_brightness(img, 1.3))
save("contrast.u8", F.adjust_contrast(img, 0.7))
save("saturation.u8", F.adjust_saturation(img, 1.6))
save("hue.u8", F.adjust_hue(img, 0.1))
print(json.dumps({}))
)", dir);
  const std::size_t n = 64 * 32 * 3;
  auto max_difference = [&](const cv::Mat& out, const std::string& name) {
    const auto expected = read_binary<std::uint8_t>(dir / name, n);
    const auto got = rgb_bytes(out);
    int worst = 0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(got[i] - expected[i]));
    return worst;
  };
  // PIL blends in float32 and truncates; we compute the same blend in float32, so at most a
  // rounding step at an exact integer boundary separates the two.
  cv::Mat out = image.clone();
  fd::adjust_brightness(out, 1.3);
  CHECK(max_difference(out, "brightness.u8") <= 1);
  out = image.clone();
  fd::adjust_contrast(out, 0.7);
  CHECK(max_difference(out, "contrast.u8") <= 1);
  out = image.clone();
  fd::adjust_saturation(out, 1.6);
  CHECK(max_difference(out, "saturation.u8") <= 1);
  out = image.clone();
  fd::adjust_hue(out, 0.1);
  // HSV round trips through 8-bit hue and saturation: one level of either moves a channel by
  // up to ~v/42; we allow 3.
  CHECK(max_difference(out, "hue.u8") <= 3);
}

TEST_CASE("random erasing has the statistics of Zhong et al.'s algorithm") {
  TempDir dir;
  const int H = 256, W = 128, draws = 20000;
  const fd::RandomErasing erase{};
  double erased = 0, area = 0, aspect = 0, x_center = 0;
  for (std::uint64_t seed = 0; seed < draws; ++seed) {
    fd::Rng rng(seed);
    const auto box = erase.draw(rng, H, W);
    if (!box) continue;
    erased += 1;
    CHECK(box->x >= 0);
    CHECK(box->y >= 0);
    CHECK(box->x + box->width <= W);
    CHECK(box->y + box->height <= H);
    area += static_cast<double>(box->area()) / (H * W);
    aspect += static_cast<double>(box->height) / box->width;
    x_center += (box->x + box->width / 2.0) / W;
  }
  const auto reference = run_python_reference(fmt::format(R"(
import json, math, random
random.seed(0)
H, W, draws = {}, {}, {}
erased = area = aspect = xc = 0.0
for _ in range(draws):
    if random.uniform(0, 1) >= 0.5:
        continue
    for attempt in range(100):
        target = random.uniform(0.02, 0.4) * H * W
        ar = random.uniform(0.3, 1 / 0.3)
        h = int(round(math.sqrt(target * ar)))
        w = int(round(math.sqrt(target / ar)))
        if w < W and h < H:
            x1 = random.randint(0, H - h)
            y1 = random.randint(0, W - w)
            erased += 1; area += h * w / (H * W); aspect += h / w; xc += (y1 + w / 2) / W
            break
print(json.dumps(dict(erased=erased / draws, area=area / erased, aspect=aspect / erased, xc=xc / erased)))
)", H, W, draws), dir);
  // Standard errors at 20000 draws: fraction 0.0035, mean area ~0.0009, mean aspect ~0.01.
  CHECK(erased / draws == doctest::Approx(reference["erased"].get<double>()).epsilon(0.04));
  CHECK(area / erased == doctest::Approx(reference["area"].get<double>()).epsilon(0.03));
  CHECK(aspect / erased == doctest::Approx(reference["aspect"].get<double>()).epsilon(0.04));
  CHECK(x_center / erased == doctest::Approx(reference["xc"].get<double>()).epsilon(0.03));

  // The fill goes into the normalised tensor: the ImageNet mean, per channel.
  std::vector<float> chw(3 * H * W, -9.0f);
  fd::RandomErasing always{{.erase_probability = 1.0}};
  fd::Rng rng(1);
  always(chw.data(), H, W, rng);
  std::array<int, 3> filled{};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < H * W; ++i) filled[c] += chw[c * H * W + i] == always.fill[c];
  CHECK(filled[0] > 0);
  CHECK(filled[0] == filled[1]);
  CHECK(filled[1] == filled[2]);
}

TEST_CASE("pipelines: the seed's order and BoT's, composed in code") {
  const auto seed = fd::seed_pipeline();
  CHECK((seed.order.augment ==
         std::vector{fd::Step::flip, fd::Step::pad, fd::Step::translate, fd::Step::erase}));
  CHECK(seed.resize.interpolation == fd::Interpolation::bicubic);
  CHECK(seed.erase.erase_keep_one);
  const auto bot = fd::bot_pipeline();
  CHECK((bot.order.augment ==
         std::vector{fd::Step::flip, fd::Step::pad, fd::Step::crop, fd::Step::erase}));
  CHECK(bot.pad.pad == 10);

  // A flip with probability 1 composed in code mirrors the image.
  const cv::Mat image = test_image(64, 32, 2);
  fd::Pipeline plain(fd::ImageTransform{64, 32});
  fd::Pipeline flipped(fd::ImageTransform{64, 32});
  flipped.then(fd::RandomFlip{{1.0}});
  auto a = torch::empty({3, 64, 32}), b = torch::empty({3, 64, 32});
  plain.apply(image, 0, a.data_ptr<float>());
  flipped.apply(image, 0, b.data_ptr<float>());
  CHECK(torch::equal(a.flip({2}), b));
}
