#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/synthetic.hpp>

#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
namespace syn = fgreid::datasets::synthetic;

/// Sets an environment variable for the lifetime of the object, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Every file under `root`, relative to it, sorted.
std::vector<fs::path> files_under(const fs::path& root) {
  std::vector<fs::path> files;
  for (const auto& item : fs::recursive_directory_iterator(root))
    if (item.is_regular_file()) files.push_back(fs::relative(item.path(), root));
  std::ranges::sort(files);
  return files;
}

/// The synthetic Market tree for seed 1, generated once for the tests that only read it.
const fs::path& synthetic_market() {
  static const fgreid::test::TempDir folder;
  static const bool written = [] {
    ds::write_synthetic_market(folder.path(), 1);
    return true;
  }();
  (void)written;
  return folder.path();
}

/// A colour histogram of an image's central strip, where the person stands: 8 bins per
/// channel, normalised to sum 1.
cv::Mat colour_histogram(const fs::path& image_path) {
  const cv::Mat image = cv::imread(image_path.string());
  REQUIRE_FALSE(image.empty());
  const cv::Mat centre = image(cv::Rect(image.cols / 4, image.rows / 16, image.cols / 2,
                                        image.rows * 7 / 8));
  const int channels[] = {0, 1, 2};
  const int bins[] = {8, 8, 8};
  const float range[] = {0, 256};
  const float* ranges[] = {range, range, range};
  cv::Mat histogram;
  cv::calcHist(&centre, 1, channels, cv::Mat(), histogram, 3, bins, ranges);
  return histogram / cv::sum(histogram)[0];
}

}  // namespace

TEST_CASE("the synthetic cache lives in $FGREID_CACHE, else in ~/.cache/fgreid") {
  {
    ScopedEnv cache("FGREID_CACHE", "/some/cache");
    CHECK(ds::synthetic_cache_dir() == fs::path("/some/cache"));
  }
  ScopedEnv no_cache("FGREID_CACHE", std::nullopt);
  ScopedEnv home("HOME", "/home/someone");
  CHECK(ds::synthetic_cache_dir() == fs::path("/home/someone/.cache/fgreid"));
}

TEST_CASE("a synthetic tree is written once and then found in the cache") {
  fgreid::test::TempDir cache;
  ScopedEnv env("FGREID_CACHE", cache.path().string());
  int writes = 0;
  const auto write = [&](const fs::path& folder) {
    ++writes;
    std::ofstream(folder / "data.txt") << "payload";
  };
  const auto first = ds::ensure_synthetic("tiny-v1", write);
  CHECK(first == cache / "synthetic" / "tiny-v1");
  CHECK(writes == 1);
  CHECK(contents(first / "data.txt") == "payload");
  CHECK(fs::exists(first / ".complete"));

  const auto second = ds::ensure_synthetic("tiny-v1", write);
  CHECK(second == first);
  CHECK(writes == 1);
  // nothing but the finished tree is left next to it
  CHECK(std::distance(fs::directory_iterator(cache / "synthetic"), fs::directory_iterator()) == 1);
}

TEST_CASE("a failed synthetic write leaves nothing behind and is retried next time") {
  fgreid::test::TempDir cache;
  ScopedEnv env("FGREID_CACHE", cache.path().string());
  CHECK_THROWS_AS(ds::ensure_synthetic("broken-v1",
                                       [](const fs::path&) { throw std::runtime_error("disk full"); }),
                  std::runtime_error);
  CHECK(fs::is_empty(cache / "synthetic"));
  int writes = 0;
  ds::ensure_synthetic("broken-v1", [&](const fs::path&) { ++writes; });
  CHECK(writes == 1);
}

TEST_CASE("when another process finishes the synthetic tree first, its tree is used") {
  fgreid::test::TempDir cache;
  ScopedEnv env("FGREID_CACHE", cache.path().string());
  const auto target = cache / "synthetic" / "raced-v1";
  const auto root = ds::ensure_synthetic("raced-v1", [&](const fs::path& mine) {
    std::ofstream(mine / "who.txt") << "loser";
    // the other process renames its complete tree into place while we are still writing
    fs::create_directories(target);
    std::ofstream(target / "who.txt") << "winner";
    std::ofstream(target / ".complete");
  });
  CHECK(root == target);
  CHECK(contents(root / "who.txt") == "winner");
  CHECK(std::distance(fs::directory_iterator(cache / "synthetic"), fs::directory_iterator()) == 1);
}

TEST_CASE("a rendered person is a BGR image of the requested size, the same for the same seed") {
  std::mt19937_64 identity_rng(5), camera_rng(6);
  const auto person = syn::random_person(identity_rng);
  const auto camera = syn::random_camera_style(camera_rng);
  const auto render = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    return syn::render_person(person, camera, rng, cv::Size(64, 128));
  };
  const auto image = render(11);
  CHECK(image.size() == cv::Size(64, 128));
  CHECK(image.type() == CV_8UC3);
  CHECK(cv::norm(image, render(11), cv::NORM_L1) == 0.0);
  CHECK(cv::norm(image, render(12), cv::NORM_L1) > 0.0);
}

TEST_CASE("the synthetic Market tree is the same, byte for byte, for the same seed") {
  const auto& reference = synthetic_market();
  fgreid::test::TempDir again;
  ds::write_synthetic_market(again.path(), 1);
  const auto files = files_under(reference);
  REQUIRE(files.size() > 2500);
  CHECK(files_under(again.path()) == files);
  for (std::size_t i = 0; i < files.size(); i += 97) {
    CAPTURE(files[i]);
    CHECK(contents(reference / files[i]) == contents(again / files[i]));
  }
}

TEST_CASE("the synthetic Market tree reads as Market-1501 with its junk and distractors") {
  const auto base = synthetic_market() / "Market-1501-v15.09.15";
  const auto splits = ds::Market1501::load(synthetic_market(), {});
  const auto summary = ds::summarize(splits);
  MESSAGE(summary.dump());
  CHECK(summary["train"]["ids"] == 100);
  CHECK(summary["query"]["ids"] == 100);
  CHECK(summary["gallery"]["ids"] == 101);  // the test identities and the distractors' 0
  for (const auto* split : {"train", "query", "gallery"}) CHECK(summary[split]["cameras"] == 6);
  CHECK(summary["train"]["images"].get<int>() > 1000);

  int junk = 0;
  for (const auto& item : fs::directory_iterator(base / "bounding_box_test")) {
    const auto name = ds::parse_market_name(item.path().filename().string());
    REQUIRE(name);
    junk += name->pid == -1;
    // frames lie within the recorded length of their sequence
    const auto lengths = ds::market_sequence_lengths(name->camera);
    REQUIRE(name->sequence <= static_cast<int>(lengths.size()));
    CHECK(name->frame < lengths[static_cast<std::size_t>(name->sequence - 1)]);
  }
  CHECK(junk == 60);
  CHECK(std::ranges::count(splits.gallery, 0, &ds::Entry::pid) == 60);

  std::map<std::int64_t, std::set<std::int64_t>> train_cameras, gallery_cameras;
  for (const auto& entry : splits.train) train_cameras[entry.pid].insert(entry.camid);
  for (const auto& entry : splits.gallery) gallery_cameras[entry.pid].insert(entry.camid);
  for (const auto& [pid, cameras] : train_cameras) CHECK(cameras.size() >= 2);
  for (const auto& query : splits.query) {
    CAPTURE(query.images.front());
    const auto& seen_by = gallery_cameras[query.pid];
    CHECK(seen_by.size() >= 2);
    CHECK(std::ranges::any_of(seen_by, [&](std::int64_t camid) { return camid != query.camid; }));
  }
}

TEST_CASE("sightings of one synthetic identity are close in time, those of different ones not") {
  const auto splits = ds::Market1501::load(synthetic_market(), {});
  std::vector<std::int64_t> same, different;
  const auto& gallery = splits.gallery;
  for (std::size_t i = 0; i < gallery.size(); ++i)
    for (std::size_t j = i + 1; j < gallery.size(); j += 7)
      if (gallery[i].pid != 0 && gallery[j].pid != 0 && gallery[i].camid != gallery[j].camid)
        (gallery[i].pid == gallery[j].pid ? same : different)
            .push_back(std::abs(gallery[i].frame - gallery[j].frame));
  REQUIRE(same.size() > 50);
  const auto median = [](std::vector<std::int64_t> values) {
    std::ranges::nth_element(values, values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2));
    return values[values.size() / 2];
  };
  CHECK(median(same) < 10000);  // minutes of walking between cameras
  CHECK(median(different) > 50000);
}

TEST_CASE("the synthetic Market tree is learnable from colour but not trivially") {
  const auto splits = ds::Market1501::load(synthetic_market(), {});
  std::vector<cv::Mat> gallery;
  for (const auto& entry : splits.gallery) gallery.push_back(colour_histogram(entry.images.front()));
  std::set<std::int64_t> gallery_ids;
  for (const auto& entry : splits.gallery) gallery_ids.insert(entry.pid);

  // Nearest neighbour under the Market protocol: the query's own camera does not count.
  int hits = 0;
  for (const auto& query : splits.query) {
    const auto histogram = colour_histogram(query.images.front());
    double best = std::numeric_limits<double>::max();
    std::int64_t best_pid = -1;
    for (std::size_t i = 0; i < gallery.size(); ++i) {
      const auto& candidate = splits.gallery[i];
      if (candidate.pid == query.pid && candidate.camid == query.camid) continue;
      const double distance = cv::compareHist(histogram, gallery[i], cv::HISTCMP_BHATTACHARYYA);
      if (distance < best) {
        best = distance;
        best_pid = candidate.pid;
      }
    }
    hits += best_pid == query.pid;
  }
  const double rank1 = static_cast<double>(hits) / static_cast<double>(splits.query.size());
  const double chance = 1.0 / static_cast<double>(gallery_ids.size());
  MESSAGE("colour-histogram rank-1 ", rank1, " (chance ", chance, ")");
  CHECK(rank1 > 20 * chance);
  CHECK(rank1 < 0.95);
}
