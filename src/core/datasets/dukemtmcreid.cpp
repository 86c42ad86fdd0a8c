#include <fgreid/datasets/dukemtmcreid.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <array>
#include <vector>

namespace fgreid::datasets {

namespace {

constexpr std::string_view release_folder = "DukeMTMC-reID";
constexpr std::string_view needed_folders =
    "DukeMTMC-reID needs bounding_box_train/, query/ and bounding_box_test/ in --data-root or "
    "in its DukeMTMC-reID/";
constexpr int camera_count = 8;
constexpr std::int64_t max_pid = 7140;  // the ids of the DukeMTMC tracking ground truth

std::vector<Entry> read_folder(const std::filesystem::path& folder) {
  std::vector<Entry> entries;
  for (auto& path : jpg_files(folder)) {
    const auto name = parse_duke_name(path.filename().string());
    if (!name)
      throw DataError(fmt::format(
          "{}: not a DukeMTMC-reID image name (expected PPPP_cC_fFFFFFFF.jpg, e.g. "
          "0001_c2_f0046182.jpg)", path.string()));
    if (name->pid < 1 || name->pid > max_pid)
      throw DataError(fmt::format("{}: person id {} out of range (expected 1..{})", path.string(),
                                  name->pid, max_pid));
    if (name->camera < 1 || name->camera > camera_count)
      throw DataError(fmt::format("{}: camera c{} out of range (expected c1..c{})", path.string(),
                                  name->camera, camera_count));
    entries.push_back(
        {.images = {std::move(path)}, .pid = name->pid, .camid = name->camera - 1, .frame = name->frame});
  }
  return entries;
}

}  // namespace

std::optional<DukeName> parse_duke_name(std::string_view filename) {
  DukeName name;
  NameReader reader(filename);
  if (reader.number(name.pid) && reader.literal("_c") && reader.number(name.camera) &&
      reader.literal("_f") && reader.number(name.frame) && reader.literal(".jpg") && reader.done())
    return name;
  return std::nullopt;
}

Splits DukeMTMCreID::load(const std::filesystem::path& root, const Options& options) {
  const auto base = release_base(root, release_folder);
  const auto train = base / "bounding_box_train", query = base / "query",
             gallery = base / "bounding_box_test";
  for (const auto& folder : {train, query, gallery}) require_folder(folder, needed_folders);
  return finish_splits(read_folder(train), read_folder(query), read_folder(gallery),
                       options);
}

void write_synthetic_duke(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const auto ids = draw_ids(seed, 180, 1, max_pid);
  ReleaseSpec spec{.cameras = camera_count,
                   .image_size = {64, 128},
                   .train_pids = {ids.begin(), ids.begin() + 80},
                   .test_pids = {ids.begin() + 80, ids.begin() + 160},
                   .distractor_pids = {ids.begin() + 160, ids.end()}};
  const auto base = root / release_folder;
  for (const auto* folder : {"bounding_box_train", "query", "bounding_box_test"})
    std::filesystem::create_directories(base / folder);
  write_release(base, spec, [](const Sighting& s) {
    static constexpr std::array<const char*, 3> folders{"bounding_box_train", "query", "bounding_box_test"};
    return std::filesystem::path(folders[static_cast<std::size_t>(s.subset)]) /
           fmt::format("{:04d}_c{}_f{:07d}.jpg", s.pid, s.camera + 1, s.frame);
  }, seed);
  write_synthetic_readme(base / "README.txt", "DukeMTMC-reID", seed);
}

void DukeMTMCreID::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_duke(root);
}

}  // namespace fgreid::datasets
