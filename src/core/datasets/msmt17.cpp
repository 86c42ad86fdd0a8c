#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <numeric>
#include <vector>

namespace fgreid::datasets {

namespace {

constexpr int camera_count = 15;

struct Version {
  std::string_view folder, train, test;
};
// torchreid's table: V2 blurred the faces and renamed the image folders.
constexpr std::array<Version, 2> versions{{{"MSMT17_V2", "mask_train_v2", "mask_test_v2"},
                                           {"MSMT17_V1", "train", "test"}}};

/// The release folder under `root` (or `root` itself), with its version.
std::pair<std::filesystem::path, Version> find_release(const std::filesystem::path& root) {
  for (const auto& version : versions) {
    if (std::filesystem::is_directory(root / version.folder)) return {root / version.folder, version};
    if (root.filename() == version.folder && std::filesystem::is_directory(root)) return {root, version};
  }
  throw DataError(fmt::format("{}: folder not found (MSMT17 needs --data-root to hold MSMT17_V1/ "
                              "or MSMT17_V2/)", (root / versions[0].folder).string()));
}

std::vector<Entry> read_list_of(const std::filesystem::path& list,
                                const std::filesystem::path& folder) {
  std::vector<Entry> entries;
  for (const auto& line : read_list(list, 2, "pid_folder/name.jpg pid")) {
    const auto& relative = line.fields[0];
    const auto pid = list_integer(list, line, 1, "person id");
    const auto camera = msmt17_camera(std::filesystem::path(relative).filename().string());
    if (!camera || *camera < 1 || *camera > camera_count)
      throw DataError(fmt::format(
          "{}:{}: {}: no camera 01..{} in the third '_' field of the name (expected e.g. "
          "0000_000_01_0303morning_0015_0.jpg)", list.string(), line.number, relative, camera_count));
    // No frame: the seed tests MSMT17 in Image.py's mode 3, which reads none, and has no
    // tools/generate_seq_msmt17.py; the name's fifth field is a frame of a day-part video
    // (0303morning), on no clock shared across the day, so st-ReID is not offered here.
    entries.push_back({.images = {listed_image(list, line, folder, relative)},
                       .pid = pid,
                       .camid = *camera - 1,
                       .frame = -1});
  }
  return entries;
}

}  // namespace

std::optional<int> msmt17_camera(std::string_view filename) {
  for (int field = 0; field < 2; ++field) {
    const auto underscore = filename.find('_');
    if (underscore == std::string_view::npos) return std::nullopt;
    filename.remove_prefix(underscore + 1);
  }
  int camera = 0;
  NameReader reader(filename.substr(0, filename.find('_')));
  if (reader.number(camera) && reader.done() && filename.find('_') != std::string_view::npos)
    return camera;
  return std::nullopt;
}

Splits MSMT17::load(const std::filesystem::path& root, const Options& options) {
  const auto [base, version] = find_release(root);
  const auto train_folder = base / version.train, test_folder = base / version.test;
  const auto needs = fmt::format("{} needs {}/ and {}/ next to its list files", version.folder,
                                 version.train, version.test);
  require_folder(train_folder, needs);
  require_folder(test_folder, needs);
  auto train = read_list_of(base / "list_train.txt", train_folder);
  auto val = read_list_of(base / "list_val.txt", train_folder);
  if (options.msmt17_merge_val) train.insert(train.end(), val.begin(), val.end());
  auto splits = finish_splits(std::move(train), read_list_of(base / "list_query.txt", test_folder),
                              read_list_of(base / "list_gallery.txt", test_folder),
                              options.held_out);
  splits.info["version"] = version.folder;
  splits.info["val_merged"] = options.msmt17_merge_val;
  splits.info["val_images"] = val.size();
  return splits;
}

void write_synthetic_msmt17(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  constexpr int ids = 80;
  std::vector<std::int64_t> train_pids(ids), test_pids(ids);
  std::iota(train_pids.begin(), train_pids.end(), 0);  // train and test each count from 0
  std::iota(test_pids.begin(), test_pids.end(), 0);
  // Train and test ids collide by design, so the test ones are planned with an offset and
  // written back without it.
  for (auto& pid : test_pids) pid += 10000;
  ReleaseSpec spec{.cameras = camera_count,
                   .image_size = {64, 128},
                   .train_pids = train_pids,
                   .test_pids = test_pids,
                   .distractor_pids = {}};
  const auto base = root / "MSMT17_V2";
  static constexpr std::array<const char*, 3> times{"morning", "noon", "afternoon"};
  const auto sightings = write_release(base, spec, [](const Sighting& s) {
    const auto pid = s.pid % 10000;
    const auto folder = s.subset == Subset::train ? "mask_train_v2" : "mask_test_v2";
    // index, camera, day and time of day, frame, and a trailing box index as in the release
    return std::filesystem::path(folder) / fmt::format("{:04d}", pid) /
           fmt::format("{:04d}_{:03d}_{:02d}_0{}{}_{:04d}_{}.jpg", pid,
                       s.subset == Subset::gallery ? s.index + 1 : s.index, s.camera + 1,
                       s.subset == Subset::train ? 302 : 303, times[static_cast<std::size_t>(s.frame % 3)],
                       s.frame % 10000, s.subset == Subset::query ? 1 : 0);
  }, seed);

  std::ofstream train(base / "list_train.txt"), val(base / "list_val.txt"),
      query(base / "list_query.txt"), gallery(base / "list_gallery.txt");
  for (const auto& s : sightings) {
    const auto relative = s.path.lexically_relative(*s.path.begin());  // below the image folder
    const auto line = fmt::format("{} {}\n", relative.generic_string(), s.pid % 10000);
    switch (s.subset) {
      case Subset::train: (s.index == 1 ? val : train) << line; break;  // about a tenth to val
      case Subset::query: query << line; break;
      case Subset::gallery: gallery << line; break;
    }
  }
  write_synthetic_readme(base / "README.txt", "MSMT17 (V2)", seed);
}

void MSMT17::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_msmt17(root);
}

}  // namespace fgreid::datasets
