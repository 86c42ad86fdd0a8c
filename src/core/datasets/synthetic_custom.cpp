// The synthetic stand-ins of the custom layouts: what recipe_custom_image and
// recipe_custom_video read without --data-root, and an example of each layout to copy.
#include <fgreid/datasets/custom.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/synthetic_video.hpp>

#include <fmt/format.h>

#include <array>
#include <fstream>

namespace fgreid::datasets {

namespace {

using namespace synthetic;

constexpr int camera_count = 6;
constexpr std::array<const char*, 3> subset_folders{"train", "query", "gallery"};

const char* folder_of(Subset subset) { return subset_folders[static_cast<std::size_t>(subset)]; }

}  // namespace

void write_synthetic_custom_images(const std::filesystem::path& root, std::uint64_t seed) {
  const auto ids = draw_ids(seed, 200, 1, 9999);
  const ReleaseSpec spec{.cameras = camera_count,
                         .image_size = {64, 128},
                         .train_pids = {ids.begin(), ids.begin() + 100},
                         .test_pids = {ids.begin() + 100, ids.end()},
                         .distractor_pids = {}};
  // The tree: <subset>/<pid>/<camid>/<frame>.jpg, cameras numbered from 1.
  const auto sightings = write_release(root, spec, [](const Sighting& s) {
    return std::filesystem::path(folder_of(s.subset)) / fmt::format("{:04d}", s.pid) /
           fmt::format("{}", s.camera + 1) / fmt::format("{:06d}.jpg", s.frame);
  }, seed);
  // The lists name the same images, with their frame numbers.
  std::array<std::ofstream, 3> lists;
  for (std::size_t i = 0; i < lists.size(); ++i) {
    lists[i].open(root / fmt::format("{}.csv", subset_folders[i]));
    lists[i] << "path,pid,camid,frame\n";
  }
  for (const auto& s : sightings)
    lists[static_cast<std::size_t>(s.subset)]
        << fmt::format("{},{},{},{}\n", s.path.generic_string(), s.pid, s.camera + 1, s.frame);
  write_synthetic_readme(root / "README.txt", "Custom images", seed);
}

void write_synthetic_custom_video(const std::filesystem::path& root, std::uint64_t seed) {
  VideoPlanner plan(seed, camera_count);
  const auto ids = draw_ids(seed, 120, 1, 9999);
  for (std::size_t i = 0; i < 60; ++i) plan.identity(Subset::train, ids[i]);
  for (std::size_t i = 60; i < 120; ++i) plan.identity(Subset::query, ids[i]);
  // The tree: <subset>/<pid>/<camid>/<tracklet>/<frame>.jpg, frames numbered from 1.
  write_tracklets(root, plan, {64, 128}, [&](const Tracklet& t, int frame) {
    return std::filesystem::path(folder_of(t.subset)) / fmt::format("{:04d}", t.pid) /
           fmt::format("{}", t.camera + 1) / fmt::format("{}", t.number) / fmt::format("{}.jpg", frame + 1);
  });
  write_synthetic_readme(root / "README.txt", "Custom video", seed);
}

}  // namespace fgreid::datasets
