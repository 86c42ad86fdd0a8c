#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/datasets/vric.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <vector>

namespace fgreid::datasets {

namespace {

constexpr std::string_view release_folder = "VRIC";
constexpr int camera_count = 60;
// subset: its list and its image folder
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> subsets{
    {{"vric_train.txt", "train_images"},
     {"vric_probe.txt", "probe_images"},
     {"vric_gallery.txt", "gallery_images"}}};

std::vector<Entry> read_subset(const std::filesystem::path& base, std::size_t subset) {
  const auto list = base / subsets[subset].first;
  const auto folder = base / subsets[subset].second;
  require_folder(folder, "VRIC needs train_images/, probe_images/ and gallery_images/ next to "
                         "vric_{train,probe,gallery}.txt, in --data-root or in its VRIC/");
  std::vector<Entry> entries;
  for (const auto& line : read_list(list, 3, "image_name id camera")) {
    const auto pid = list_integer(list, line, 1, "id");
    const auto camera = list_integer(list, line, 2, "camera");
    if (camera < 1)
      throw DataError(fmt::format("{}:{}: camera {} out of range (cameras count from 1)",
                                  list.string(), line.number, camera));
    // tools/generate_seq_vric.py and video_loader.py's mode 6 (VRIC):
    // frame = name.split("_")[-1].split(".")[0][3:]
    entries.push_back({.images = {listed_image(list, line, folder, line.fields[0])},
                       .pid = pid,
                       .camid = camera - 1,
                       .frame = seed_name_frame(std::filesystem::path(line.fields[0]).filename().string(), 3)});
  }
  return entries;
}

}  // namespace

Splits VRIC::load(const std::filesystem::path& root, const Options& options) {
  const auto base = release_base(root, release_folder);
  auto train = read_subset(base, 0), query = read_subset(base, 1), gallery = read_subset(base, 2);
  return finish_splits(std::move(train), std::move(query), std::move(gallery),
                       options);
}

void write_synthetic_vric(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const auto ids = draw_ids(seed, 160, 1, 5622);
  ReleaseSpec spec{.cameras = camera_count,
                   .image_size = {64, 128},
                   .train_pids = {ids.begin(), ids.begin() + 80},
                   .test_pids = {ids.begin() + 80, ids.end()},
                   .distractor_pids = {},
                   .cameras_per_id = {2, 2},
                   .train_per_camera = {3, 5},
                   .gallery_per_camera = {1, 1}};
  const auto base = root / release_folder;
  const auto sightings = write_release(base, spec, [](const Sighting& s) {
    return std::filesystem::path(subsets[static_cast<std::size_t>(s.subset)].second) /
           fmt::format("{:04d}_{:02d}_{:02d}_fr{:05d}.jpg", s.pid, s.camera + 1, s.index, s.frame);
  }, seed);
  std::array<std::ofstream, 3> lists{std::ofstream(base / subsets[0].first),
                                     std::ofstream(base / subsets[1].first),
                                     std::ofstream(base / subsets[2].first)};
  for (const auto& s : sightings)
    lists[static_cast<std::size_t>(s.subset)]
        << fmt::format("{} {} {}\n", s.path.filename().string(), s.pid, s.camera + 1);
  write_synthetic_readme(base / "README.txt", "VRIC", seed);
}

void VRIC::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_vric(root);
}

}  // namespace fgreid::datasets
