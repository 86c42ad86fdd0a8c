// The synthetic Market-1501 stand-in: rendered people in the release's folders and names.
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <numeric>
#include <set>
#include <vector>

namespace fgreid::datasets {

namespace {

using namespace synthetic;

const cv::Size image_size{64, 128};  // W×H, as Market-1501's boxes
constexpr int camera_count = 6;
constexpr int train_ids = 100;
constexpr int test_ids = 100;
constexpr int junk_images = 60;
constexpr int distractor_images = 60;
constexpr double frames_per_second = 25.0;  // the release's frame rate

// Where the cameras stand on the synthetic campus, in metres. Travel times between them
// follow from the distances, so that camera pairs have their own typical time gaps.
const std::array<cv::Point2d, camera_count> camera_positions{
    {{0, 0}, {55, 15}, {120, -10}, {35, 80}, {105, 65}, {175, 35}}};

enum class Content { person, distractor, junk };

/// One image to render: decided up front, drawn later in parallel from its own seed.
struct PlannedImage {
  std::filesystem::path path;
  Content content = Content::person;
  PersonAppearance person;
  int camera = 0;  // 0-based
  std::uint64_t seed = 0;
};

/// A Market-1501 name for a sighting at `time` on camera `camera`'s clock (0-based camera).
std::string market_filename(std::int64_t pid, int camera, std::int64_t time, int box) {
  const auto lengths = market_sequence_lengths(camera + 1);
  std::size_t sequence = 0;
  while (sequence + 1 < lengths.size() && time >= lengths[sequence]) time -= lengths[sequence++];
  time = std::clamp<std::int64_t>(time, 0, lengths[sequence] - 1);
  const auto id = pid == -1 ? std::string("-1") : fmt::format("{:04d}", pid);
  return fmt::format("{}_c{}s{}_{:06d}_{:02d}.jpg", id, camera + 1, sequence + 1, time, box);
}

/// The frames of the camera clock at which a person passes each camera of a route.
struct Walk {
  std::vector<int> cameras;          // visiting order
  std::vector<std::int64_t> arrivals;  // frame at which each camera first sees the person
  std::vector<int> dwell;            // frames the person stays in view
};

/// A route through `count` distinct cameras, visited nearest-first from a random start.
Walk random_walk(std::mt19937_64& rng, int count) {
  std::array<int, camera_count> order{};
  std::iota(order.begin(), order.end(), 0);
  for (int i = camera_count - 1; i > 0; --i) std::swap(order[i], order[uniform_int(rng, 0, i)]);
  std::vector<int> pending(order.begin(), order.begin() + count);

  const auto distance = [](int a, int b) {
    const auto d = camera_positions[static_cast<std::size_t>(a)] - camera_positions[static_cast<std::size_t>(b)];
    return std::hypot(d.x, d.y);
  };
  const double speed = uniform(rng, 1.0, 1.6);  // m/s
  // The shortest camera clock (c6) decides the latest start: every visit must fit.
  double time = uniform(rng, 2000.0, 300000.0);
  Walk walk;
  int at = pending.front();
  pending.erase(pending.begin());
  while (true) {
    walk.cameras.push_back(at);
    walk.arrivals.push_back(static_cast<std::int64_t>(time));
    walk.dwell.push_back(uniform_int(rng, 60, 200));
    if (pending.empty()) break;
    const auto next = std::ranges::min_element(pending, {}, [&](int c) { return distance(at, c); });
    const double travel = distance(at, *next) / speed * frames_per_second;
    time += walk.dwell.back() + travel * std::max(0.5, normal(rng, 1.0, 0.12));
    at = *next;
    pending.erase(next);
  }
  return walk;
}

/// `count` distinct frame offsets in [0, dwell), in time order.
std::vector<std::int64_t> moments(std::mt19937_64& rng, int count, int dwell) {
  std::set<std::int64_t> chosen;
  while (static_cast<int>(chosen.size()) < count) chosen.insert(uniform_int(rng, 0, dwell - 1));
  return {chosen.begin(), chosen.end()};
}

/// The release's pids: 1..1501 shuffled, the first `train` for training, the next `test`.
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> choose_pids(std::mt19937_64& rng,
                                                                            int train, int test) {
  std::vector<std::int64_t> pids(1501);
  std::iota(pids.begin(), pids.end(), 1);
  for (std::size_t i = pids.size() - 1; i > 0; --i)
    std::swap(pids[i], pids[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<int>(i)))]);
  std::vector<std::int64_t> train_pids(pids.begin(), pids.begin() + train);
  std::vector<std::int64_t> test_pids(pids.begin() + train, pids.begin() + train + test);
  std::ranges::sort(train_pids);
  std::ranges::sort(test_pids);
  return {train_pids, test_pids};
}

class Planner {
 public:
  Planner(const std::filesystem::path& base, std::uint64_t seed) : base_(base), seed_(seed) {}

  void add(const std::string& folder, std::string filename, Content content,
           const PersonAppearance& person, int camera) {
    images_.push_back({base_ / folder / std::move(filename), content, person, camera,
                       derive_seed(seed_, images_.size())});
  }

  [[nodiscard]] const std::vector<PlannedImage>& images() const { return images_; }

 private:
  std::filesystem::path base_;
  std::uint64_t seed_;
  std::vector<PlannedImage> images_;
};

/// Each camera's images of a training identity: at least two per camera, ~12 in all.
void plan_training_identity(Planner& planner, std::mt19937_64& rng, std::int64_t pid) {
  const auto person = random_person(rng);
  const auto walk = random_walk(rng, uniform_int(rng, 2, 5));
  const int cameras = static_cast<int>(walk.cameras.size());
  std::vector<int> per_camera(walk.cameras.size(), 2);
  for (int extra = std::max(0, uniform_int(rng, 9, 15) - 2 * cameras); extra > 0; --extra)
    ++per_camera[static_cast<std::size_t>(uniform_int(rng, 0, cameras - 1))];
  for (std::size_t i = 0; i < walk.cameras.size(); ++i)
    for (const auto offset : moments(rng, per_camera[i], walk.dwell[i]))
      planner.add("bounding_box_train",
                  market_filename(pid, walk.cameras[i], walk.arrivals[i] + offset, 1),
                  Content::person, person, walk.cameras[i]);
}

/// A test identity: 3–6 gallery images per camera, and a query on up to two of its cameras
/// (so every query has its identity in the gallery on another camera).
void plan_test_identity(Planner& planner, std::mt19937_64& rng, std::int64_t pid) {
  const auto person = random_person(rng);
  const auto walk = random_walk(rng, uniform_int(rng, 2, 5));
  std::vector<std::size_t> visits(walk.cameras.size());
  std::iota(visits.begin(), visits.end(), 0);
  for (std::size_t i = visits.size() - 1; i > 0; --i)
    std::swap(visits[i], visits[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<int>(i)))]);
  const std::set<std::size_t> query_visits(visits.begin(),
                                           visits.begin() + std::min<std::size_t>(2, visits.size()));
  for (std::size_t i = 0; i < walk.cameras.size(); ++i) {
    const bool has_query = query_visits.contains(i);
    const int gallery = uniform_int(rng, 3, 6);
    auto frames = moments(rng, gallery + (has_query ? 1 : 0), walk.dwell[i]);
    if (has_query) {
      // the query is a random one of the visit's moments, the rest go to the gallery
      const auto q = static_cast<std::size_t>(uniform_int(rng, 0, static_cast<int>(frames.size()) - 1));
      planner.add("query", market_filename(pid, walk.cameras[i], walk.arrivals[i] + frames[q], 1),
                  Content::person, person, walk.cameras[i]);
      frames.erase(frames.begin() + static_cast<std::ptrdiff_t>(q));
    }
    for (const auto frame : frames)
      planner.add("bounding_box_test",
                  market_filename(pid, walk.cameras[i], walk.arrivals[i] + frame, 1),
                  Content::person, person, walk.cameras[i]);
  }
}

/// Junk (pid -1) and distractor (pid 0) boxes: one-off people and background at random times.
void plan_clutter(Planner& planner, std::mt19937_64& rng, std::int64_t pid, int count,
                  Content content, std::set<std::string>& taken) {
  for (int made = 0; made < count;) {
    const int camera = uniform_int(rng, 0, camera_count - 1);
    auto name = market_filename(pid, camera, uniform_int(rng, 0, 340000), uniform_int(rng, 1, 8));
    if (!taken.insert(name).second) continue;
    planner.add("bounding_box_test", std::move(name), content, random_person(rng), camera);
    ++made;
  }
}

cv::Mat render(const PlannedImage& image, const std::vector<CameraStyle>& cameras) {
  std::mt19937_64 rng(image.seed);
  const auto& camera = cameras[static_cast<std::size_t>(image.camera)];
  auto jitter = random_jitter(camera, rng);
  switch (image.content) {
    case Content::person: break;
    case Content::distractor:
      // a poor detection: a far-away figure, or a close-up of part of one
      if (chance(rng, 0.5)) {
        jitter.zoom = uniform(rng, 0.45, 0.65);
      } else {
        jitter.zoom = uniform(rng, 1.5, 2.2);
        jitter.shift_y = uniform(rng, -0.35, 0.35);
      }
      jitter.shift_x = uniform(rng, -0.3, 0.3);
      break;
    case Content::junk:
      if (chance(rng, 0.6)) {
        cv::Mat background = render_background(camera, rng, image_size);
        apply_camera(background, camera, jitter.noise, rng);
        return background;
      }
      jitter.zoom = uniform(rng, 1.8, 2.6);
      jitter.shift_x = uniform(rng, -0.45, 0.45);
      jitter.shift_y = uniform(rng, -0.5, 0.5);
      break;
  }
  return render_person(image.person, camera, jitter, rng, image_size);
}

}  // namespace

void write_synthetic_market(const std::filesystem::path& root, std::uint64_t seed) {
  const auto base = root / "Market-1501-v15.09.15";
  for (const auto* folder : {"bounding_box_train", "query", "bounding_box_test"})
    std::filesystem::create_directories(base / folder);

  std::mt19937_64 rng(seed);
  std::vector<CameraStyle> cameras;
  std::generate_n(std::back_inserter(cameras), camera_count, [&] { return random_camera_style(rng); });
  const auto [train_pids, test_pids] = choose_pids(rng, train_ids, test_ids);

  Planner planner(base, seed);
  for (const auto pid : train_pids) plan_training_identity(planner, rng, pid);
  for (const auto pid : test_pids) plan_test_identity(planner, rng, pid);
  std::set<std::string> clutter_names;
  plan_clutter(planner, rng, -1, junk_images, Content::junk, clutter_names);
  plan_clutter(planner, rng, 0, distractor_images, Content::distractor, clutter_names);

  const auto& images = planner.images();
  const std::vector<int> jpeg{cv::IMWRITE_JPEG_QUALITY, 90};
  tbb::parallel_for(std::size_t{0}, images.size(), [&](std::size_t i) {
    if (!cv::imwrite(images[i].path.string(), render(images[i], cameras), jpeg))
      throw DataError(fmt::format("{}: cannot write the image", images[i].path.string()));
  });

  std::ofstream(base / "README.txt")
      << fmt::format("A synthetic stand-in for Market-1501, rendered by fgreid (seed {}).\n"
                     "Same layout and file names as the release; the people are drawn.\n",
                     seed);
}

}  // namespace fgreid::datasets
