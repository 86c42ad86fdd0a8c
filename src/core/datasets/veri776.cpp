#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/datasets/veri776.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <array>
#include <vector>

namespace fgreid::datasets {

namespace {

constexpr std::string_view release_folder = "VeRi";
constexpr std::string_view needed_folders =
    "VeRi-776 needs image_train/, image_query/ and image_test/ in --data-root or in its VeRi/";
constexpr int camera_count = 20;
constexpr std::int64_t max_vehicle = 776;

std::vector<Entry> read_folder(const std::filesystem::path& folder) {
  std::vector<Entry> entries;
  for (auto& path : jpg_files(folder)) {
    const auto name = parse_veri_name(path.filename().string());
    if (!name)
      throw DataError(fmt::format("{}: not a VeRi-776 image name (expected VVVV_cCCC_FFFFFFFF_N.jpg, "
                                  "e.g. 0001_c001_00016450_0.jpg)", path.string()));
    if (name->vehicle < 1 || name->vehicle > max_vehicle)
      throw DataError(fmt::format("{}: vehicle id {} out of range (expected 1..{})", path.string(),
                                  name->vehicle, max_vehicle));
    if (name->camera < 1 || name->camera > camera_count)
      throw DataError(fmt::format("{}: camera c{:03d} out of range (expected c001..c{:03d})",
                                  path.string(), name->camera, camera_count));
    entries.push_back({.images = {std::move(path)},
                       .pid = name->vehicle,
                       .camid = name->camera - 1,
                       .frame = name->frame});
  }
  return entries;
}

}  // namespace

std::optional<VeriName> parse_veri_name(std::string_view filename) {
  VeriName name;
  NameReader reader(filename);
  if (reader.digits(4, name.vehicle) && reader.literal("_c") && reader.digits(3, name.camera) &&
      reader.literal("_") && reader.digits(8, name.frame) && reader.literal("_") &&
      reader.number(name.index) && reader.literal(".jpg") && reader.done())
    return name;
  return std::nullopt;
}

Splits VeRi776::load(const std::filesystem::path& root, const Options& options) {
  const auto base = release_base(root, release_folder);
  const auto train = base / "image_train", query = base / "image_query", gallery = base / "image_test";
  for (const auto& folder : {train, query, gallery}) require_folder(folder, needed_folders);
  return finish_splits(read_folder(train), read_folder(query), read_folder(gallery),
                       options);
}

void write_synthetic_veri(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const auto ids = draw_ids(seed, 140, 1, max_vehicle);
  ReleaseSpec spec{.cameras = camera_count,
                   .image_size = {64, 128},
                   .train_pids = {ids.begin(), ids.begin() + 80},
                   .test_pids = {ids.begin() + 80, ids.end()},
                   .distractor_pids = {},
                   .cameras_per_id = {2, 5},
                   .train_per_camera = {2, 3},
                   .gallery_per_camera = {2, 3}};
  const auto base = root / release_folder;
  for (const auto* folder : {"image_train", "image_query", "image_test"})
    std::filesystem::create_directories(base / folder);
  write_release(base, spec, [](const Sighting& s) {
    static constexpr std::array<const char*, 3> folders{"image_train", "image_query", "image_test"};
    return std::filesystem::path(folders[static_cast<std::size_t>(s.subset)]) /
           fmt::format("{:04d}_c{:03d}_{:08d}_{}.jpg", s.pid, s.camera + 1, s.frame, s.index);
  }, seed);
  write_synthetic_readme(base / "README.txt", "VeRi-776", seed);
}

void VeRi776::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_veri(root);
}

}  // namespace fgreid::datasets
