// The model pictures: attention overlays checked pixel by pixel against a blend computed here
// by hand (bilinear with align_corners, min-max scaling, matplotlib's viridis lookup, alpha
// 0.7), and the embedding plot's PCA checked against numpy in the project's Python.
#include <fgreid/eval/model_pictures.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/models/resnet.hpp>

#include <doctest/doctest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace {

namespace fs = std::filesystem;
namespace en = fgreid::eval;
namespace md = fgreid::models;
using fgreid::test::TempDir;

/// Images with structure (gradients and a bright block) so that attention and blending vary.
std::vector<fgreid::datasets::Entry> write_images(const TempDir& dir, int count) {
  std::vector<fgreid::datasets::Entry> entries;
  for (int i = 0; i < count; ++i) {
    cv::Mat image(90, 45, CV_8UC3);
    for (int y = 0; y < image.rows; ++y)
      for (int x = 0; x < image.cols; ++x)
        image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * 5 + 40 * i) % 256),
                                              static_cast<uchar>((y * 3 + 17 * i) % 256),
                                              static_cast<uchar>((x * y + 90 * i) % 256));
    cv::rectangle(image, cv::Rect(5 + 7 * i, 20 + 11 * i, 15, 20), cv::Scalar(250, 250, 250), cv::FILLED);
    const auto path = dir / ("image_" + std::to_string(i) + ".png");
    REQUIRE(cv::imwrite(path.string(), image));
    entries.push_back({.images = {path}, .pid = 10 + i, .camid = i % 2});
  }
  return entries;
}

/// Bilinear upsampling with align_corners=True, written out: output pixel (y, x) reads the
/// source at (y (h-1)/(H-1), x (w-1)/(W-1)).
std::vector<double> upsample_by_hand(const torch::Tensor& map, int H, int W) {
  const auto m = map.to(torch::kDouble).contiguous();
  const int h = static_cast<int>(m.size(0)), w = static_cast<int>(m.size(1));
  const auto a = m.accessor<double, 2>();
  std::vector<double> out(static_cast<std::size_t>(H * W));
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const double sy = H > 1 ? y * double(h - 1) / (H - 1) : 0, sx = W > 1 ? x * double(w - 1) / (W - 1) : 0;
      const int y0 = std::min(static_cast<int>(sy), h - 1), x0 = std::min(static_cast<int>(sx), w - 1);
      const int y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
      const double fy = sy - y0, fx = sx - x0;
      out[static_cast<std::size_t>(y * W + x)] =
          (1 - fy) * ((1 - fx) * a[y0][x0] + fx * a[y0][x1]) + fy * ((1 - fx) * a[y1][x0] + fx * a[y1][x1]);
    }
  return out;
}

cv::Vec3b viridis(int index) {
  cv::Mat level(1, 1, CV_8UC1, cv::Scalar(index)), colour;
  cv::applyColorMap(level, colour, cv::COLORMAP_VIRIDIS);
  return colour.at<cv::Vec3b>(0, 0);
}

int max_channel_difference(cv::Vec3b a, cv::Vec3b b) {
  int worst = 0;
  for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(a[c]) - int(b[c])));
  return worst;
}

/// conv1 scaled down so that the values before the sigmoid reach about 3 on noise (they are
/// proportional to conv1's weight; its bias is 0): the sigmoid map is no longer saturated at 1.
void shrink_conv1(md::FGReIDNetImpl& model) {
  torch::NoGradGuard no_grad;
  const bool training = model.is_training();
  model.eval();
  torch::manual_seed(9);
  const auto noise = model.modality() == fgreid::Modality::video ? torch::randn({2, 2, 3, 64, 32})
                                                                : torch::randn({2, 3, 64, 32});
  const double top = model.attention_before_sigmoid(noise).max().item<double>();
  model.named_parameters()["conv1.weight"].mul_(3.0 / top);
  model.train(training);
}

}  // namespace

TEST_CASE("the FGReID attention before its sigmoid is attention_map()'s argument") {
  for (const auto minimum : {md::AttentionMin::sample, md::AttentionMin::batch})
    for (const bool video : {false, true}) {
      CAPTURE(video);
      CAPTURE(static_cast<int>(minimum));
      const md::FGReIDOptions options{.eval_attention_min = minimum};
      const md::ModelContext context{.num_classes = 4, .height = 64, .width = 32};
      auto model = std::dynamic_pointer_cast<md::FGReIDNetImpl>(
          video ? md::FGReIDVideo<md::ResNet<18, 1>>::build(options, context)
                : md::FGReIDImage<md::ResNet<18, 1>>::build(options, context));
      REQUIRE(model);
      shrink_conv1(*model);
      model->eval();
      torch::NoGradGuard no_grad;
      torch::manual_seed(2);
      const auto input = video ? torch::randn({2, 3, 3, 64, 32}) : torch::randn({3, 3, 64, 32});
      const auto expected = model->attention_map(input);
      REQUIRE(expected.max().item<double>() < 0.999);  // not saturated: the comparison means something
      const auto before = model->attention_before_sigmoid(input);
      REQUIRE(before.sizes() == expected.sizes());
      CHECK((torch::sigmoid(before) - expected).abs().max().item<double>() < 1e-6);
    }
}

TEST_CASE("OpenCV's viridis is matplotlib's at its ends and middle") {
  // matplotlib: viridis(0) = #440154, viridis(128/256) = #21918c, viridis(1) = #fde725 (RGB).
  CHECK(max_channel_difference(viridis(0), cv::Vec3b(84, 1, 68)) <= 1);
  CHECK(max_channel_difference(viridis(128), cv::Vec3b(140, 145, 33)) <= 2);
  CHECK(max_channel_difference(viridis(255), cv::Vec3b(37, 231, 253)) <= 1);
}

TEST_CASE("attention overlays are viridis(min-max scaled, upsampled map) blended at 0.7 over the image") {
  TempDir dir;
  const auto entries = write_images(dir, 3);
  constexpr int H = 128, W = 64;
  torch::manual_seed(1);  // the same network whether this case runs alone or after others
  auto model = std::dynamic_pointer_cast<md::FGReIDNetImpl>(md::FGReIDImage<md::ResNet<18, 1>>::build(
      {}, md::ModelContext{.num_classes = 5, .height = H, .width = W}));
  REQUIRE(model);
  en::OverlayStyle style;
  SUBCASE("before the sigmoid (the seed's picture)") { style.values = en::AttentionValues::pre_sigmoid; }
  SUBCASE("after the sigmoid, on a network whose map is not saturated") {
    style.values = en::AttentionValues::sigmoid;
    shrink_conv1(*model);
  }
  const fgreid::data::ImageTransform transform{.height = H, .width = W, .flip_probability = 1.0};
  const std::vector<std::size_t> chosen{2, 0, 1};
  const auto png = dir / "pictures" / "attention.png";
  model->train();
  en::write_attention_overlays(*model, entries, chosen, transform, torch::kCPU, png, style);
  CHECK(model->is_training());  // the caller's mode is restored

  // Nothing but the PNG is left in its folder (written through a temporary and a rename).
  std::vector<fs::path> files;
  for (const auto& file : fs::directory_iterator(png.parent_path())) files.push_back(file.path());
  REQUIRE(files.size() == 1);
  CHECK(files[0] == png);

  const cv::Mat picture = cv::imread(png.string(), cv::IMREAD_COLOR);
  REQUIRE(!picture.empty());
  const auto grid = en::overlay_grid(H, W, 1, 3);
  CHECK(grid.scale == 2);  // the least making a 128-px image >= 256 px tall
  CHECK(picture.cols == grid.width);
  CHECK(picture.rows == grid.height);

  // The reference: the network's map of the unflipped input in eval mode (before the sigmoid:
  // checked against attention_map() in its own test case), then everything else by hand.
  model->eval();
  torch::NoGradGuard no_grad;
  for (std::size_t cell = 0; cell < chosen.size(); ++cell) {
    CAPTURE(cell);
    const auto& path = entries[chosen[cell]].images[0];
    auto input = torch::empty({1, 3, H, W});
    fgreid::data::load_image(path, {.height = H, .width = W}, 0, input[0]);
    const auto map = style.values == en::AttentionValues::sigmoid
                         ? model->attention_map(input)
                         : model->attention_before_sigmoid(input);
    REQUIRE(map.sizes() == torch::IntArrayRef({1, 1, H / 16, W / 16}));
    const double spread = (map.max() - map.min()).item<double>();
    REQUIRE(spread > 5e-3);  // a map with structure, or the colours would say nothing
    const auto up = upsample_by_hand(map[0][0], H, W);
    const double low = *std::min_element(up.begin(), up.end()), high = *std::max_element(up.begin(), up.end());
    cv::Mat image;
    cv::resize(cv::imread(path.string(), cv::IMREAD_COLOR), image, cv::Size(W, H), 0, 0, cv::INTER_LINEAR);

    const auto [ox, oy] = grid.overlay_origin(0, cell);
    const auto [ix, iy] = grid.image_origin(0, cell);
    std::set<int> levels_seen;
    int checked = 0;
    for (int y = 0; y < H; y += 9)
      for (int x = 0; x < W; x += 7) {
        const double v = (up[static_cast<std::size_t>(y * W + x)] - low) / (high - low);
        const int level = std::min(255, static_cast<int>(std::floor(v * 256)));
        levels_seen.insert(level);
        const cv::Vec3b pixel = image.at<cv::Vec3b>(y, x);
        // The blend at a colour level; a value on a level boundary may round either way between
        // float (the picture) and double (here), so the neighbouring levels are accepted too.
        auto blend = [&](int at) {
          const cv::Vec3b colour = viridis(std::clamp(at, 0, 255));
          cv::Vec3b expected;
          for (int c = 0; c < 3; ++c)
            expected[c] = static_cast<uchar>(std::lround(0.7 * colour[c] + 0.3 * pixel[c]));
          return expected;
        };
        for (const auto [dx, dy] : {std::pair{0, 0}, std::pair{1, 1}}) {  // both pixels of the 2x block
          CAPTURE(x);
          CAPTURE(y);
          const auto drawn = picture.at<cv::Vec3b>(oy + 2 * y + dy, ox + 2 * x + dx);
          CHECK(std::min({max_channel_difference(drawn, blend(level)),
                          max_channel_difference(drawn, blend(level - 1)),
                          max_channel_difference(drawn, blend(level + 1))}) <= 1);
          CHECK(picture.at<cv::Vec3b>(iy + 2 * y + dy, ix + 2 * x + dx) == pixel);
        }
        ++checked;
      }
    CHECK(checked > 100);
    CHECK(levels_seen.size() > 10);  // the positions checked span many colours
  }
  if (const char* keep = std::getenv("FGREID_KEEP_PICTURES"))
    fs::copy_file(png, fs::path(keep) / (style.values == en::AttentionValues::sigmoid ? "attention_sigmoid.png" : "attention.png"),
                  fs::copy_options::overwrite_existing);
}

TEST_CASE("attention overlays of a video model draw one row per tracklet, one cell per frame") {
  TempDir dir;
  auto entries = write_images(dir, 3);
  entries[0].images.push_back(entries[1].images[0]);  // a two-frame tracklet; the others repeat
  constexpr int H = 64, W = 32;
  torch::manual_seed(1);
  auto model = std::dynamic_pointer_cast<md::FGReIDNetImpl>(md::FGReIDVideo<md::ResNet<18, 1>>::build(
      {}, md::ModelContext{.num_classes = 5, .height = H, .width = W}));
  REQUIRE(model);
  const std::vector<std::size_t> chosen{0, 2};
  const auto png = dir / "video.png";
  en::OverlayStyle style;
  style.clip_frames = 3;
  en::write_attention_overlays(*model, entries, chosen, {.height = H, .width = W}, torch::kCPU, png, style);
  const cv::Mat picture = cv::imread(png.string(), cv::IMREAD_COLOR);
  REQUIRE(!picture.empty());
  const auto grid = en::overlay_grid(H, W, 2, 3, style);
  CHECK(grid.scale == 4);
  CHECK(picture.cols == grid.width);
  CHECK(picture.rows == grid.height);
  // Row 0's frames: image 0, image 1, image 1 (the last repeated); the plain tiles show them.
  cv::Mat second;
  cv::resize(cv::imread(entries[1].images[0].string()), second, cv::Size(W, H), 0, 0, cv::INTER_LINEAR);
  for (std::size_t t : {1u, 2u}) {
    const auto [x, y] = grid.image_origin(0, t);
    CHECK(picture.at<cv::Vec3b>(y + 4 * 10, x + 4 * 7) == second.at<cv::Vec3b>(10, 7));
  }

  SUBCASE("bad requests are refused") {
    const std::vector<std::size_t> out_of_range{3};
    CHECK_THROWS_AS(en::write_attention_overlays(*model, entries, out_of_range, {.height = H, .width = W},
                                                 torch::kCPU, png, style),
                    std::invalid_argument);
    CHECK_THROWS_AS(en::write_attention_overlays(*model, entries, {}, {.height = H, .width = W},
                                                 torch::kCPU, png, style),
                    std::invalid_argument);
    // A function returning a map of the wrong shape is named in the error.
    const en::AttentionView wrong_shape{.map = [](const torch::Tensor& x) { return torch::rand({x.size(0), 4, 4}); },
                                        .modality = fgreid::Modality::image};
    CHECK_THROWS_AS(en::write_attention_overlays(wrong_shape, entries, chosen, {.height = H, .width = W},
                                                 torch::kCPU, png),
                    std::invalid_argument);
  }
}

namespace {

/// Two identities far apart along a random direction in D dimensions, 12 features each, centers
/// at the cluster means, classifier weights further out along the same direction.
struct Clusters {
  torch::Tensor centers, classifier, features, labels;
};
Clusters two_clusters(std::int64_t dimension, std::int64_t classifier_dimension) {
  torch::manual_seed(3);
  const auto direction = torch::nn::functional::normalize(torch::randn({1, dimension}),
                                                          torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto features = torch::randn({24, dimension}) * 0.3;
  auto labels = torch::cat({torch::zeros({12}, torch::kLong), torch::ones({12}, torch::kLong)});
  features += torch::where(labels.unsqueeze(1) == 0, 4.0, -4.0) * direction;
  const auto centers = torch::stack({features.slice(0, 0, 12).mean(0), features.slice(0, 12).mean(0)});
  const auto classifier_direction = classifier_dimension == dimension
                                        ? direction
                                        : torch::nn::functional::normalize(
                                              torch::randn({1, classifier_dimension}),
                                              torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto classifier = torch::cat({6.0 * classifier_direction, -6.0 * classifier_direction}) +
                          0.2 * torch::randn({2, classifier_dimension});
  return {centers, classifier, features, labels};
}

std::string csv(const torch::Tensor& rows) {
  std::ostringstream out;
  out.precision(17);
  const auto r = rows.to(torch::kDouble).contiguous();
  const auto a = r.accessor<double, 2>();
  for (std::int64_t i = 0; i < r.size(0); ++i) {
    for (std::int64_t j = 0; j < r.size(1); ++j) out << (j ? "," : "") << a[i][j];
    out << "\n";
  }
  return out.str();
}

/// numpy's PCA of `rows` with the same sign rule (largest-magnitude loading positive).
torch::Tensor numpy_pca(const TempDir& dir, const torch::Tensor& rows) {
  std::ofstream(dir / "rows.csv") << csv(rows);
  std::ofstream(dir / "pca.py") << R"PY(
import sys, numpy as np
folder = sys.argv[1]
x = np.loadtxt(folder + "/rows.csv", delimiter=",", ndmin=2)
c = x - x.mean(axis=0)
_, s, vt = np.linalg.svd(c, full_matrices=False)
out = []
for k in range(2):
    v = vt[k] if vt[k][np.argmax(np.abs(vt[k]))] > 0 else -vt[k]
    out.append(c @ v)
print(" ".join(repr(float(s[k] ** 2 / (s ** 2).sum())) for k in range(2)))
np.savetxt(folder + "/points.csv", np.stack(out, axis=1), delimiter=",", fmt="%.17g")
)PY";
  const auto result = fgreid::test::run_command(std::string(FGREID_PYTHON) + " " + (dir / "pca.py").string() +
                                                " " + dir.path().string());
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  std::ifstream in(dir / "points.csv");
  std::vector<double> values;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) values.push_back(std::stod(field));
  }
  REQUIRE(values.size() == static_cast<std::size_t>(2 * rows.size(0)));
  return torch::tensor(values, torch::kDouble).view({rows.size(0), 2});
}

}  // namespace

TEST_CASE("pca_2d equals numpy's PCA") {
  TempDir dir;
  torch::manual_seed(5);
  const auto rows = torch::randn({30, 9}) * torch::linspace(3.0, 0.1, 9) + 2.0;
  const auto projection = en::pca_2d(rows);
  const auto expected = numpy_pca(dir, rows);
  CHECK((projection.points - expected).abs().max().item<double>() < 1e-9);
  CHECK(projection.explained[0] > projection.explained[1]);
  CHECK(projection.explained[0] + projection.explained[1] < 1.0);
  // Identical rows: all at the origin, no variance explained.
  const auto flat = en::pca_2d(torch::ones({4, 3}));
  CHECK(flat.points.abs().max().item<double>() == 0.0);
  CHECK(flat.explained[0] == 0.0);
}

TEST_CASE("the embedding plot separates two well-separated identities") {
  TempDir dir;

  SUBCASE("one space: centers, classifier weights and features share one PCA") {
    const auto data = two_clusters(16, 16);
    const auto panels = en::embedding_panels(data.centers, data.classifier, data.features, data.labels);
    REQUIRE(panels.size() == 1);
    const auto& panel = panels[0];
    CHECK(panel.dimension == 16);
    REQUIRE(panel.kinds.size() == 2 + 2 + 24);
    CHECK(panel.kinds[0] == en::PointKind::center);
    CHECK(panel.kinds[2] == en::PointKind::classifier_weight);
    CHECK(panel.kinds[4] == en::PointKind::feature);
    // The union, in the panel's order, through numpy.
    const auto expected = numpy_pca(dir, torch::cat({data.centers, data.classifier, data.features}));
    CHECK((panel.projection.points - expected).abs().max().item<double>() < 1e-9);
    // Every identity-0 point on one side of PC1, every identity-1 point on the other.
    const auto pc1 = panel.projection.points.select(1, 0);
    double low[2] = {1e30, 1e30}, high[2] = {-1e30, -1e30};
    for (std::size_t p = 0; p < panel.labels.size(); ++p) {
      const double v = pc1[static_cast<std::int64_t>(p)].item<double>();
      const auto identity = static_cast<std::size_t>(panel.labels[p]);
      low[identity] = std::min(low[identity], v);
      high[identity] = std::max(high[identity], v);
    }
    CHECK((high[0] < low[1] || high[1] < low[0]));
    CHECK(panel.projection.explained[0] > 0.8);

    // In the picture, each identity's colour sits in its own half of the data area.
    const auto png = dir / "embedding.png";
    en::write_embedding_plot(data.centers, data.classifier, data.features, data.labels, png);
    const cv::Mat picture = cv::imread(png.string(), cv::IMREAD_COLOR);
    REQUIRE(!picture.empty());
    CHECK(picture.cols == 800);
    CHECK(picture.rows == 800);
    const auto [left, top, right, bottom] = en::embedding_plot_area(0);
    double sum[2] = {0, 0};
    int count[2] = {0, 0};
    for (int y = top + 1; y < bottom; ++y)
      for (int x = left + 1; x < right; ++x)
        for (int identity : {0, 1}) {
          const auto c = en::palette_colour(static_cast<std::size_t>(identity));  // identities {0, 1}
          if (picture.at<cv::Vec3b>(y, x) == cv::Vec3b(c[0], c[1], c[2])) {
            sum[identity] += x;
            ++count[identity];
          }
        }
    REQUIRE(count[0] > 100);
    REQUIRE(count[1] > 100);
    const double middle = (left + right) / 2.0;
    const double mean0 = sum[0] / count[0], mean1 = sum[1] / count[1];
    CHECK(((mean0 < middle && mean1 > middle) || (mean0 > middle && mean1 < middle)));
    CHECK(std::abs(mean0 - mean1) > (right - left) / 3.0);
    if (const char* keep = std::getenv("FGREID_KEEP_PICTURES")) fs::copy_file(png, fs::path(keep) / "embedding.png", fs::copy_options::overwrite_existing);
  }

  SUBCASE("two spaces: classifier weights of another dimension get their own panel") {
    const auto data = two_clusters(16, 8);
    const auto panels = en::embedding_panels(data.centers, data.classifier, data.features, data.labels);
    REQUIRE(panels.size() == 2);
    CHECK(panels[0].dimension == 16);  // centers' space first
    CHECK(panels[0].kinds.size() == 2 + 24);
    CHECK(panels[1].dimension == 8);
    const bool only_classifier = panels[1].kinds == std::vector<en::PointKind>(2, en::PointKind::classifier_weight);
    CHECK(only_classifier);
    const auto expected = numpy_pca(dir, data.classifier);
    CHECK((panels[1].projection.points - expected).abs().max().item<double>() < 1e-9);
    const auto png = dir / "two.png";
    en::write_embedding_plot(data.centers, data.classifier, data.features, data.labels, png);
    const cv::Mat picture = cv::imread(png.string(), cv::IMREAD_COLOR);
    REQUIRE(!picture.empty());
    CHECK(picture.cols == 1600);
    CHECK(picture.rows == 800);
    if (const char* keep = std::getenv("FGREID_KEEP_PICTURES")) fs::copy_file(png, fs::path(keep) / "embedding_two.png", fs::copy_options::overwrite_existing);
  }

  SUBCASE("identities beyond max_identities are left out; missing sets are skipped") {
    torch::manual_seed(1);
    const auto centers = torch::randn({40, 6});
    const auto labels = torch::arange(39, -1, -1, torch::kLong);  // 39, 38, ... first met first
    const auto features = torch::randn({40, 6});
    const auto panels = en::embedding_panels(centers, torch::Tensor(), features, labels,
                                             {.max_identities = 5});
    REQUIRE(panels.size() == 1);
    const std::set<std::int64_t> drawn(panels[0].labels.begin(), panels[0].labels.end());
    CHECK(drawn == std::set<std::int64_t>{35, 36, 37, 38, 39});
    CHECK(panels[0].kinds.size() == 5 + 5);
    CHECK_THROWS_AS((void)en::embedding_panels(centers, torch::Tensor(), features,
                                               torch::full({40}, 40, torch::kLong)),
                    std::invalid_argument);
  }

  SUBCASE("many identities: the default draws the first 16 met, each in its own colour") {
    torch::manual_seed(4);
    const auto means = 3.0 * torch::randn({300, 64});
    const auto labels = torch::randint(0, 300, {60}, torch::kLong).repeat_interleave(4);
    const auto features = means.index_select(0, labels) + 0.5 * torch::randn({240, 64});
    const auto classifier = torch::randn({300, 32});
    const auto panels = en::embedding_panels(means, classifier, features, labels);
    REQUIRE(panels.size() == 2);
    const std::set<std::int64_t> drawn(panels[0].labels.begin(), panels[0].labels.end());
    CHECK(drawn.size() == 16);
    CHECK(panels[0].identities == std::vector<std::int64_t>(drawn.begin(), drawn.end()));
    CHECK(panels[1].identities == panels[0].identities);
    std::set<std::array<std::uint8_t, 3>> colours;
    for (std::size_t slot = 0; slot < 16; ++slot) colours.insert(en::palette_colour(slot));
    CHECK(colours.size() == 16);  // 16 identities, 16 colours
    CHECK(en::palette_colour(3) == en::palette_colour(19));
    const auto png = dir / "many.png";
    en::write_embedding_plot(means, classifier, features, labels, png);
    CHECK(!cv::imread(png.string()).empty());
    if (const char* keep = std::getenv("FGREID_KEEP_PICTURES")) fs::copy_file(png, fs::path(keep) / "embedding_many.png", fs::copy_options::overwrite_existing);
  }
}
