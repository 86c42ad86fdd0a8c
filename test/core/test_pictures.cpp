#include <fgreid/error.hpp>
#include <fgreid/eval/pictures.hpp>

#include <doctest/doctest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace ev = fgreid::eval;
namespace fs = std::filesystem;
using Ids = std::vector<std::int64_t>;

/// A person-shaped stand-in: a solid body colour on a lighter background.
fs::path write_person(const fs::path& folder, const std::string& name, cv::Scalar body) {
  cv::Mat image(128, 64, CV_8UC3, cv::Scalar(230, 230, 230));
  cv::rectangle(image, cv::Rect(16, 10, 32, 110), body, cv::FILLED);
  const fs::path path = folder / (name + ".jpg");
  REQUIRE(cv::imwrite(path.string(), image));
  return path;
}

bool has_colour(const cv::Mat& image, int x, int y, const std::uint8_t (&bgr)[3]) {
  const auto pixel = image.at<cv::Vec3b>(y, x);
  return pixel[0] == bgr[0] && pixel[1] == bgr[1] && pixel[2] == bgr[2];
}

/// Keeps a copy of a picture under $FGREID_KEEP_PICTURES, for looking at it.
void keep(const fs::path& png) {
  if (const char* folder = std::getenv("FGREID_KEEP_PICTURES"))
    fs::copy_file(png, fs::path(folder) / png.filename(), fs::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("a rank grid frames correct matches green, wrong ones red and junk grey") {
  fgreid::test::TempDir folder;
  const auto query = write_person(folder.path(), "q", {200, 60, 20});
  const auto same = write_person(folder.path(), "same", {190, 70, 30});
  const auto other = write_person(folder.path(), "other", {20, 60, 200});
  const auto junk = write_person(folder.path(), "junk", {200, 60, 20});

  // Gallery: g0 other (.1), g1 same pid other cam (.2), g2 same pid same cam (.05), g3 other.
  const std::vector<float> row = {0.1f, 0.2f, 0.05f, 0.3f};
  const Ids gp = {2, 1, 1, 3}, gc = {0, 1, 0, 1};
  const auto ranked = ev::rank_gallery(row, 1, 0, {gp, gc}, 3);
  REQUIRE(ranked.gallery == std::vector<std::size_t>{2, 0, 1});
  REQUIRE(ranked.kinds == std::vector<ev::MatchKind>{ev::MatchKind::junk, ev::MatchKind::wrong,
                                                     ev::MatchKind::correct});
  const std::vector<fs::path> images = {other, same, junk, other};
  std::vector<ev::RankedQuery> rows;
  for (int r = 0; r < 2; ++r) {
    ev::RankedQuery entry{query, {}, ranked.kinds};
    for (const std::size_t g : ranked.gallery) entry.gallery_images.push_back(images[g]);
    rows.push_back(entry);
  }
  const auto png = folder / "ranks.png";
  ev::write_rank_grid(png, rows);
  keep(png);
  const cv::Mat picture = cv::imread(png.string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(picture.empty());
  const auto [width, height] = ev::rank_grid_size(2, 3);
  CHECK(picture.cols == width);
  CHECK(picture.rows == height);
  const ev::GridLayout layout;
  for (std::size_t r = 0; r < 2; ++r) {
    CAPTURE(r);
    const auto expect_frame = [&](std::size_t column, const std::uint8_t (&bgr)[3]) {
      const auto [x, y] = ev::rank_grid_frame_origin(r, column, layout);
      CAPTURE(column);
      // the four sides of the frame, inside its width
      CHECK(has_colour(picture, x + 1, y + 1, bgr));
      CHECK(has_colour(picture, x + layout.tile_width / 2, y + 1, bgr));
      CHECK(has_colour(picture, x + 1, y + layout.tile_height / 2, bgr));
      CHECK(has_colour(picture, x + layout.tile_width + 2 * layout.border - 2,
                       y + layout.tile_height + 2 * layout.border - 2, bgr));
    };
    expect_frame(0, ev::kQueryBgr);
    expect_frame(1, ev::kJunkBgr);
    expect_frame(2, ev::kWrongBgr);
    expect_frame(3, ev::kCorrectBgr);
    // Junk is greyed: its body (blue in the source) has equal channels.
    const auto [jx, jy] = ev::rank_grid_frame_origin(r, 1, layout);
    const auto body = picture.at<cv::Vec3b>(jy + layout.border + 60, jx + layout.border + 32);
    CHECK(body[0] == body[2]);
    // The correct match keeps its colour: blue dominates.
    const auto [cx, cy] = ev::rank_grid_frame_origin(r, 3, layout);
    const auto kept = picture.at<cv::Vec3b>(cy + layout.border + 60, cx + layout.border + 32);
    CHECK(kept[0] > kept[2] + 100);
  }

  rows[1].kinds.pop_back();
  CHECK_THROWS_AS(ev::write_rank_grid(png, rows), std::invalid_argument);
  rows[1] = rows[0];
  rows[1].gallery_images[0] = folder / "missing.jpg";
  CHECK_THROWS_AS(ev::write_rank_grid(png, rows), fgreid::DataError);
}

TEST_CASE("a CMC plot is written at its size with its curves in their colours") {
  fgreid::test::TempDir folder;
  std::vector<double> plain, reranked;
  for (int k = 0; k < 50; ++k) {
    plain.push_back(0.6 + 0.35 * (1 - std::exp(-k / 8.0)));
    reranked.push_back(0.7 + 0.28 * (1 - std::exp(-k / 6.0)));
  }
  const std::vector<ev::CmcCurve> curves = {{"visual", plain}, {"re-ranked", reranked}};
  const auto png = folder / "cmc.png";
  ev::write_cmc_plot(png, curves, 50, "Market-1501");
  keep(png);
  const cv::Mat picture = cv::imread(png.string(), cv::IMREAD_COLOR);
  REQUIRE_FALSE(picture.empty());
  CHECK(picture.cols == ev::kCmcPlotWidth);
  CHECK(picture.rows == ev::kCmcPlotHeight);
  // Both palette colours appear (the curves), and the corners stay white.
  auto count = [&](cv::Vec3b colour) {
    int n = 0;
    for (int y = 0; y < picture.rows; ++y)
      for (int x = 0; x < picture.cols; ++x) n += picture.at<cv::Vec3b>(y, x) == colour ? 1 : 0;
    return n;
  };
  CHECK(count({180, 119, 31}) > 200);
  CHECK(count({14, 127, 255}) > 200);
  CHECK(picture.at<cv::Vec3b>(2, 2) == cv::Vec3b(255, 255, 255));
  CHECK_THROWS_AS(ev::write_cmc_plot(png, std::vector<ev::CmcCurve>{}, 50), std::invalid_argument);
  CHECK_THROWS_AS(ev::write_cmc_plot("/proc/no/such/dir/cmc.png", curves, 50), fgreid::DataError);
}

TEST_CASE("sampled queries are distinct, sorted and fixed by the seed") {
  const auto a = ev::sample_queries(100, 10, 7);
  CHECK(a.size() == 10);
  CHECK(std::ranges::is_sorted(a));
  CHECK(std::ranges::adjacent_find(a) == a.end());
  CHECK(a == ev::sample_queries(100, 10, 7));
  CHECK(a != ev::sample_queries(100, 10, 8));
  CHECK(ev::sample_queries(5, 10, 1).size() == 5);
}

TEST_CASE("write_rank_grids draws the sampled queries' top-k from a distance matrix") {
  fgreid::test::TempDir folder;
  // 5 queries, 6 gallery images; query q's true match is gallery q (another camera) at the
  // smallest distance, so every row starts with a green frame.
  const std::size_t nq = 5, ng = 6, top_k = 4;
  std::vector<fs::path> query_images, gallery_images;
  Ids qp, qc, gp, gc;
  for (std::size_t q = 0; q < nq; ++q) {
    query_images.push_back(write_person(folder.path(), "q" + std::to_string(q), {200, 60, 20}));
    qp.push_back(static_cast<std::int64_t>(q));
    qc.push_back(0);
  }
  for (std::size_t g = 0; g < ng; ++g) {
    gallery_images.push_back(write_person(folder.path(), "g" + std::to_string(g), {20, 60, 200}));
    gp.push_back(static_cast<std::int64_t>(g));
    gc.push_back(1);
  }
  std::vector<float> distances(nq * ng);
  for (std::size_t q = 0; q < nq; ++q)
    for (std::size_t g = 0; g < ng; ++g)
      distances[q * ng + g] = q == g ? 0.0f : 1.0f + static_cast<float>((q + g) % ng);
  const auto png = folder / "grids.png";
  const auto shown = ev::write_rank_grids(png, distances, {qp, qc}, {gp, gc}, query_images,
                                          gallery_images, 3, top_k, 42);
  keep(png);
  REQUIRE(shown.size() == 3);
  CHECK(shown == ev::sample_queries(nq, 3, 42));
  const cv::Mat picture = cv::imread(png.string(), cv::IMREAD_COLOR);
  const auto [width, height] = ev::rank_grid_size(3, top_k);
  CHECK(picture.cols == width);
  CHECK(picture.rows == height);
  for (std::size_t r = 0; r < 3; ++r) {
    const auto [x, y] = ev::rank_grid_frame_origin(r, 1);
    CHECK(has_colour(picture, x + 1, y + 1, ev::kCorrectBgr));
    const auto [x2, y2] = ev::rank_grid_frame_origin(r, 2);
    CHECK(has_colour(picture, x2 + 1, y2 + 1, ev::kWrongBgr));
  }
  CHECK_THROWS_AS(ev::write_rank_grids(png, distances, {qp, qc}, {gp, gc}, query_images,
                                       std::span(gallery_images).first(2), 3, top_k, 42),
                  std::invalid_argument);
}
