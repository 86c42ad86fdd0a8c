// BatchLoader: reproducibility for any worker count, clip mode (shape, frames, one decode per
// file, one draw per clip), the seed's keep-one erasing rule on a batch, and errors that name
// the file instead of hanging.
#include <fgreid/data/loader.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include "support.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <string>
#include <vector>

namespace fd = fgreid::data;
using fgreid::datasets::Entry;

namespace {

/// A 64×32 PNG whose pixels encode `value` (lossless, so the decoded value is exact), with a
/// gradient so that flips and crops change it.
std::filesystem::path write_image(const std::filesystem::path& path, int value) {
  cv::Mat image(64, 32, CV_8UC3);
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x)
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>(value),
                                            static_cast<std::uint8_t>(4 * x + 2 * y),
                                            static_cast<std::uint8_t>(200 - x));
  cv::imwrite(path.string(), image);
  return path;
}

/// `ids` identities × `per_id` single-image entries, identity-major.
std::vector<Entry> image_entries(const fgreid::test::TempDir& dir, int ids, int per_id) {
  std::vector<Entry> entries;
  for (int pid = 0; pid < ids; ++pid)
    for (int k = 0; k < per_id; ++k) {
      const int n = pid * per_id + k;
      entries.push_back({{write_image(dir / ("img" + std::to_string(n) + ".png"), n)}, pid, k % 3, -1});
    }
  return entries;
}

std::vector<torch::Tensor> run_pass(const std::vector<Entry>& entries, fd::LoaderOptions options,
                                    const fd::Pipeline& pipeline, std::int64_t batch) {
  fd::BatchLoader loader(entries,
                         fd::sequential_batches(static_cast<std::int64_t>(entries.size()), batch),
                         pipeline, std::move(options));
  std::vector<torch::Tensor> out;
  while (auto b = loader.next()) out.push_back(b->images.clone());
  return out;
}

/// The blue channel (frame value) of a test-time image, undone from the normalisation.
int decoded_value(const torch::Tensor& chw) {
  const float normalised = chw[2][0][0].item<float>();
  return static_cast<int>(std::lround((normalised * 0.225f + 0.406f) * 255.0f));
}

}  // namespace

TEST_CASE("a training pass is the same for any worker count and differs with the seed" *
          doctest::timeout(120)) {
  fgreid::test::TempDir dir;
  const auto entries = image_entries(dir, 6, 4);
  const fd::Pipeline pipeline(64, 32, fd::seed_pipeline(), /*train=*/true);
  const auto one = run_pass(entries, {.workers = 1, .prefetch = 2, .seed = 7}, pipeline, 8);
  const auto three = run_pass(entries, {.workers = 3, .prefetch = 1, .seed = 7}, pipeline, 8);
  const auto other = run_pass(entries, {.workers = 2, .prefetch = 3, .seed = 8}, pipeline, 8);
  REQUIRE(one.size() == 3);
  REQUIRE(three.size() == 3);
  bool any_difference = false;
  for (std::size_t b = 0; b < one.size(); ++b) {
    CHECK(one[b].sizes() == std::vector<std::int64_t>{8, 3, 64, 32});
    CHECK(torch::equal(one[b], three[b]));
    any_difference = any_difference || !torch::equal(one[b], other[b]);
  }
  CHECK(any_difference);
}

TEST_CASE("batch buffers are reused only once the consumer let go of them" * doctest::timeout(60)) {
  fgreid::test::TempDir dir;
  const auto entries = image_entries(dir, 8, 2);
  fd::BatchLoader loader(entries, fd::sequential_batches(16, 2), fd::ImageTransform{64, 32},
                         {.workers = 2, .prefetch = 2});
  std::vector<torch::Tensor> kept;
  while (auto batch = loader.next()) kept.push_back(batch->images);
  REQUIRE(kept.size() == 8);
  for (std::size_t b = 0; b < kept.size(); ++b) {
    CHECK(decoded_value(kept[b][0]) == static_cast<int>(2 * b));  // not overwritten later
    for (std::size_t c = 0; c < b; ++c) CHECK(kept[b].data_ptr() != kept[c].data_ptr());
  }
}

TEST_CASE("clip mode") {
  fgreid::test::TempDir dir;
  // Three tracklets of 10 frames; frame f of tracklet t has value 10·t + f.
  std::vector<Entry> tracklets;
  for (int t = 0; t < 3; ++t) {
    Entry entry{{}, t, 0, -1};
    for (int f = 0; f < 10; ++f)
      entry.images.push_back(write_image(dir / fmt::format("t{}_f{}.png", t, f), 10 * t + f));
    tracklets.push_back(entry);
  }
  // Four consecutive frames from a seed-chosen start.
  const fd::FrameChooser consecutive = [](const Entry& entry, std::uint64_t seed) {
    const std::size_t start = seed % (entry.images.size() - 3);
    return std::vector<std::size_t>{start, start + 1, start + 2, start + 3};
  };

  SUBCASE("batches are [B, T, 3, H, W] of the chosen frames, in order") {
    fd::BatchLoader loader(tracklets, [sent = false]() mutable -> std::optional<std::vector<std::int64_t>> {
      if (sent) return std::nullopt;
      sent = true;
      return std::vector<std::int64_t>{2, 0, 1};
    }, fd::ImageTransform{64, 32}, {.workers = 2, .seed = 3, .frames = consecutive});
    auto batch = loader.next();
    REQUIRE(batch);
    REQUIRE(batch->images.sizes() == std::vector<std::int64_t>{3, 4, 3, 64, 32});
    CHECK(torch::equal(batch->pids, torch::tensor({2, 0, 1}, torch::kLong)));
    for (std::int64_t i = 0; i < 3; ++i) {
      const int first = decoded_value(batch->images[i][0]);
      CHECK(first / 10 == batch->pids[i].item<std::int64_t>());
      for (std::int64_t t = 1; t < 4; ++t) CHECK(decoded_value(batch->images[i][t]) == first + t);
    }
    CHECK(!loader.next());
  }

  SUBCASE("a frame used twice in a batch is decoded once") {
    const fd::FrameChooser first_four = [](const Entry&, std::uint64_t) {
      return std::vector<std::size_t>{0, 1, 2, 3};
    };
    fd::BatchLoader loader(tracklets, fd::sequential_batches(1, 1), fd::ImageTransform{64, 32},
                           {.workers = 2, .frames = first_four});
    std::vector<Entry> repeated{tracklets[0], tracklets[0], tracklets[1]};
    fd::BatchLoader twice(repeated, fd::sequential_batches(3, 3), fd::ImageTransform{64, 32},
                          {.workers = 2, .frames = first_four});
    REQUIRE(twice.next());
    CHECK(twice.decoded_files() == 8);  // 2 distinct tracklets × 4 frames, not 12
    REQUIRE(loader.next());
    CHECK(loader.decoded_files() == 4);
  }

  SUBCASE("all frames of a clip share one random draw; clips draw their own") {
    // Every frame of tracklet 0 is the same picture: a clip's frames must come out equal.
    Entry same{{}, 0, 0, -1};
    for (int f = 0; f < 4; ++f) same.images.push_back(write_image(dir / fmt::format("same{}.png", f), 50));
    std::vector<Entry> entries(6, same);
    for (int i = 0; i < 6; ++i) entries[static_cast<std::size_t>(i)].pid = i;
    auto options = fd::seed_pipeline();
    const fd::Pipeline pipeline(64, 32, options, /*train=*/true);
    const fd::FrameChooser all = [](const Entry&, std::uint64_t) {
      return std::vector<std::size_t>{0, 1, 2, 3};
    };
    fd::BatchLoader loader(entries, fd::sequential_batches(6, 6), pipeline,
                           {.workers = 2, .seed = 11, .frames = all});
    auto batch = loader.next();
    REQUIRE(batch);
    int distinct_clips = 0;
    for (std::int64_t i = 0; i < 6; ++i) {
      for (std::int64_t t = 1; t < 4; ++t) CHECK(torch::equal(batch->images[i][t], batch->images[i][0]));
      if (i > 0 && !torch::equal(batch->images[i][0], batch->images[0][0])) ++distinct_clips;
    }
    CHECK(distinct_clips >= 4);
  }

  SUBCASE("clips of different lengths in one batch: an error naming the entry") {
    const fd::FrameChooser uneven = [](const Entry& entry, std::uint64_t) {
      return entry.pid == 1 ? std::vector<std::size_t>{0, 1} : std::vector<std::size_t>{0, 1, 2};
    };
    fd::BatchLoader loader(tracklets, fd::sequential_batches(3, 3), fd::ImageTransform{64, 32},
                           {.workers = 2, .frames = uneven});
    try {
      loader.next();
      FAIL("expected a DataError");
    } catch (const fgreid::DataError& e) {
      CHECK(std::string(e.what()).starts_with(tracklets[1].images.front().string()));
    }
  }
}

TEST_CASE("the seed's rule: an identity whose K images were all erased keeps the last clean" *
          doctest::timeout(60)) {
  fgreid::test::TempDir dir;
  // Identity-major batch: ids 0..3 with K = 4, then a lone image of id 4.
  auto entries = image_entries(dir, 4, 4);
  entries.push_back({{write_image(dir / "lone.png", 99)}, 4, 0, -1});
  auto options = fd::seed_pipeline();
  options.order.augment = {fd::Step::erase};
  options.erase.erase_probability = 1.0;  // every image draws a box (one fits at once)
  const fd::Pipeline pipeline(64, 32, options, /*train=*/true);
  fd::BatchLoader loader(entries, fd::sequential_batches(17, 17), pipeline, {.workers = 2, .seed = 5});
  auto batch = loader.next();
  REQUIRE(batch);
  // Erased: some pixel of every channel holds the fill (0.485, 0.456, 0.406) exactly.
  auto erased = [&](std::int64_t i) {
    const auto image = batch->images[i];
    auto mask = image[0].eq(0.485f) & image[1].eq(0.456f) & image[2].eq(0.406f);
    return mask.any().item<bool>();
  };
  for (std::int64_t i = 0; i < 16; ++i) CHECK_MESSAGE(erased(i) == (i % 4 != 3), "image " << i);
  CHECK(erased(16));  // a run of one identity image is not an identity's K

  // Without the rule every image is erased.
  options.erase.erase_keep_one = false;
  fd::BatchLoader plain(entries, fd::sequential_batches(17, 17),
                        fd::Pipeline(64, 32, options, true), {.workers = 2, .seed = 5});
  batch = plain.next();
  REQUIRE(batch);
  for (std::int64_t i = 0; i < 17; ++i) CHECK(erased(i));
}

TEST_CASE("a corrupt or vanished image is a DataError naming it, raised by next()" *
          doctest::timeout(60)) {
  fgreid::test::TempDir dir;
  auto entries = image_entries(dir, 4, 4);
  const auto bad = entries[9].images.front();
  std::string reason;  // what the message says beyond the path, where a case needs it said
  SUBCASE("corrupt") {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << "\x89PNG\r\n\x1a\n not really";
  }
  SUBCASE("vanished") { std::filesystem::remove(bad); }
  SUBCASE("corrupt JPEG (the TurboJPEG path)") {
    std::ofstream(bad, std::ios::binary | std::ios::trunc) << "\xFF\xD8\xFF\xE0 not a JPEG body";
  }
  SUBCASE("zero bytes") {
    std::ofstream(bad, std::ios::binary | std::ios::trunc);
    reason = "empty";
  }
  SUBCASE("a JPEG header that claims 60000 x 60000 pixels") {
    // A real JPEG whose frame header (SOF0: FF C0, length, precision, height, width) is
    // rewritten: four bytes that would have it allocate 10 GB (libjpeg's own limit is 65500).
    std::vector<unsigned char> jpeg;
    cv::imencode(".jpg", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)), jpeg);
    auto frame = std::ranges::search(jpeg, std::array<unsigned char, 2>{0xFF, 0xC0}).begin();
    REQUIRE(frame != jpeg.end());
    for (auto field = frame + 5; field != frame + 9; field += 2) field[0] = 0xEA, field[1] = 0x60;
    std::ofstream(bad, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
    reason = "60000 × 60000 pixels";  // refused before they are allocated
  }
  for (const int workers : {1, 3}) {
    fd::BatchLoader loader(entries, fd::sequential_batches(16, 4), fd::ImageTransform{64, 32},
                           {.workers = workers, .prefetch = 2});
    REQUIRE(loader.next());
    REQUIRE(loader.next());
    try {
      loader.next();
      FAIL("expected a DataError");
    } catch (const fgreid::DataError& e) {
      CHECK(std::string(e.what()).starts_with(bad.string() + ":"));
      CHECK_MESSAGE(std::string(e.what()).find(reason) != std::string::npos, std::string(e.what()));
    }
    CHECK(!loader.next());  // the pass ends there
  }
}
