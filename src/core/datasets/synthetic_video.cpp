// Synthetic video releases: tracklets of consecutive frames of one walk each.
#include <fgreid/datasets/synthetic_video.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace fgreid::datasets::synthetic {

VideoPlanner::VideoPlanner(std::uint64_t seed, int cameras) : seed_(seed), rng_(seed) {
  std::mt19937_64 style_rng(derive_seed(seed, ~std::uint64_t{0}));
  for (int c = 0; c < cameras; ++c) styles_.push_back(random_camera_style(style_rng));
}

std::size_t VideoPlanner::person() {
  people_.push_back(random_person(rng_));
  return people_.size() - 1;
}

Tracklet& VideoPlanner::tracklet(Subset subset, std::int64_t pid, int camera, std::size_t person,
                                 std::pair<int, int> frames) {
  int number = 1;
  for (const auto& other : tracklets_)
    if (other.pid == pid && other.camera == camera) ++number;
  tracklets_.push_back({.subset = subset,
                        .pid = pid,
                        .camera = camera,
                        .number = number,
                        .frames = uniform_int(rng_, frames.first, frames.second),
                        .person = person,
                        .seed = derive_seed(seed_, tracklets_.size()),
                        .paths = {}});
  return tracklets_.back();
}

std::vector<int> VideoPlanner::cameras(int count) {
  std::vector<int> order(styles_.size());
  std::iota(order.begin(), order.end(), 0);
  for (int i = static_cast<int>(order.size()) - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(uniform_int(rng_, 0, i))]);
  order.resize(static_cast<std::size_t>(std::min<int>(count, static_cast<int>(order.size()))));
  return order;
}

void VideoPlanner::identity(Subset subset, std::int64_t pid) {
  const auto appearance = person();
  for (const auto camera : cameras(uniform_int(rng_, 2, 3))) {
    tracklet(subset, pid, camera, appearance, {3, 16});
    subset = subset == Subset::query ? Subset::gallery : subset;  // one query per test id
  }
}

ImageJitter Walk::at(int frame) const {
  ImageJitter jitter = start;
  jitter.shift_x = std::clamp(start.shift_x + drift * frame, -0.18, 0.18);
  jitter.stride = 0.06 + 0.06 * std::sin(phase + 0.9 * frame);
  jitter.zoom = std::clamp(start.zoom * (1.0 + zoom_rate * frame), 0.85, 1.12);
  return jitter;
}

void write_tracklets(const std::filesystem::path& root, VideoPlanner& plan, cv::Size image_size,
                     const FrameNaming& naming) {
  std::set<std::filesystem::path> taken;
  std::vector<std::pair<std::size_t, int>> frames;  // (tracklet, frame)
  std::vector<Walk> walks;
  for (std::size_t t = 0; t < plan.tracklets().size(); ++t) {
    auto& tracklet = plan.tracklets()[t];
    tracklet.paths.clear();
    for (int f = 0; f < tracklet.frames; ++f) {
      auto path = naming(tracklet, f);
      if (!taken.insert(path).second)
        throw std::logic_error("synthetic video release: two frames named " + path.string());
      std::filesystem::create_directories((root / path).parent_path());
      tracklet.paths.push_back(std::move(path));
      frames.emplace_back(t, f);
    }
    // the walk: a jitter for the passage, drifting one way across the picture
    std::mt19937_64 rng(derive_seed(tracklet.seed, 1));
    Walk walk{.start = random_jitter(plan.styles()[static_cast<std::size_t>(tracklet.camera)], rng)};
    walk.drift = (chance(rng, 0.5) ? 1.0 : -1.0) * uniform(rng, 0.006, 0.015);
    walk.start.shift_x = -walk.drift * tracklet.frames / 2.0 + uniform(rng, -0.03, 0.03);
    walk.zoom_rate = uniform(rng, -0.004, 0.006);
    walk.phase = uniform(rng, 0.0, 6.283);
    walks.push_back(walk);
  }
  const std::vector<int> jpeg{cv::IMWRITE_JPEG_QUALITY, 90};
  tbb::parallel_for(std::size_t{0}, frames.size(), [&](std::size_t i) {
    const auto [t, f] = frames[i];
    const auto& tracklet = plan.tracklets()[t];
    // the same stream for every frame of a tracklet: the same background behind the walk
    std::mt19937_64 rng(derive_seed(tracklet.seed, 2));
    const auto image = render_person(plan.people()[tracklet.person],
                                     plan.styles()[static_cast<std::size_t>(tracklet.camera)],
                                     walks[t].at(f), rng, image_size);
    const auto file = root / tracklet.paths[static_cast<std::size_t>(f)];
    const bool png = file.extension() == ".png";
    if (!cv::imwrite(file.string(), image, png ? std::vector<int>{} : jpeg))
      throw DataError(fmt::format("{}: cannot write the frame", file.string()));
  });
}

}  // namespace fgreid::datasets::synthetic
