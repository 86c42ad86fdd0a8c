#include <fgreid/datasets/dukemtmc_video.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic_video.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

namespace fgreid::datasets {

namespace {

constexpr std::string_view release_folder = "DukeMTMC-VideoReID";
constexpr std::string_view needs =
    "DukeMTMC-VideoReID needs train/, query/ and gallery/ in --data-root, its "
    "DukeMTMC-VideoReID/ or its dukemtmc-vidreid/DukeMTMC-VideoReID/";
constexpr int camera_count = 8;

std::vector<Entry> read_subset(const std::filesystem::path& folder) {
  require_folder(folder, needs);
  std::vector<Entry> tracklets;
  for (const auto& person : sub_folders(folder)) {
    std::int64_t pid = 0;
    const auto folder_name = person.filename().string();  // outlives the reader's view of it
    NameReader reader(folder_name);
    if (!reader.number(pid) || !reader.done())
      throw DataError(fmt::format("{}: not a person folder (expected its id, e.g. 0001)", person.string()));
    for (const auto& tracklet : sub_folders(person)) {
      std::vector<std::pair<std::int64_t, std::filesystem::path>> frames;
      int camera = 0;
      for (auto& path : jpg_files(tracklet)) {
        const auto name = parse_duke_video_name(path.filename().string());
        if (!name)
          throw DataError(fmt::format("{}: not a DukeMTMC-VideoReID frame name (expected "
                                      "PPPP_CC_FFFFF_XNNNNN.jpg, e.g. 0001_C6_F0099_X30823.jpg)",
                                      path.string()));
        if (name->pid != pid)
          throw DataError(fmt::format("{}: person {} in the folder of person {} (tracklet {})",
                                      path.string(), name->pid, pid, tracklet.string()));
        if (name->camera < 1 || name->camera > camera_count)
          throw DataError(fmt::format("{}: camera C{} out of range (expected C1..C{})", path.string(),
                                      name->camera, camera_count));
        if (camera != 0 && name->camera != camera)
          throw DataError(fmt::format("{}: tracklet holds frames of cameras C{} and C{} ({})",
                                      tracklet.string(), camera, name->camera,
                                      path.filename().string()));
        camera = name->camera;
        frames.emplace_back(name->index, std::move(path));
      }
      if (frames.empty())
        throw DataError(fmt::format("{}: tracklet without frames (no .jpg in the folder)", tracklet.string()));
      std::ranges::sort(frames);
      for (std::size_t i = 1; i < frames.size(); ++i)
        if (frames[i].first == frames[i - 1].first)
          throw DataError(fmt::format("{}: two frames with index F{} ({} and {})", tracklet.string(),
                                      frames[i].first, frames[i - 1].second.filename().string(),
                                      frames[i].second.filename().string()));
      Entry entry{.images = {}, .pid = pid, .camid = camera - 1, .frame = -1};
      for (auto& [index, path] : frames) entry.images.push_back(std::move(path));
      tracklets.push_back(std::move(entry));
    }
  }
  return tracklets;
}

}  // namespace

std::optional<DukeVideoName> parse_duke_video_name(std::string_view filename) {
  DukeVideoName name;
  std::int64_t x = 0;
  {
    NameReader reader(filename);  // 0001_C6_F0099_X30823.jpg
    if (reader.number(name.pid) && reader.literal("_C") && reader.number(name.camera) &&
        reader.literal("_F") && reader.number(name.index) && reader.literal("_X") &&
        reader.number(x) && reader.literal(".jpg") && reader.done())
      return name;
  }
  NameReader reader(filename);  // 0001C6F0099X30823.jpg: the id has four digits, the camera one
  if (reader.digits(4, name.pid) && reader.literal("C") && reader.digits(1, name.camera) &&
      reader.literal("F") && reader.number(name.index) && reader.literal("X") && reader.number(x) &&
      reader.literal(".jpg") && reader.done())
    return name;
  return std::nullopt;
}

Splits DukeMTMCVideoReID::load(const std::filesystem::path& root, const Options& options) {
  auto base = release_base(root, release_folder);
  if (base == root && std::filesystem::is_directory(root / "dukemtmc-vidreid" / release_folder))
    base = root / "dukemtmc-vidreid" / release_folder;  // torchreid's layout
  auto train = read_subset(base / "train");
  auto query = read_subset(base / "query");
  auto gallery = read_subset(base / "gallery");
  return finish_splits(std::move(train), std::move(query), std::move(gallery), options);
}

void write_synthetic_duke_video(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  VideoPlanner plan(seed, camera_count);
  const auto ids = draw_ids(seed, 132, 1, 7140);
  for (std::size_t i = 0; i < 60; ++i) plan.identity(Subset::train, ids[i]);
  for (std::size_t i = 60; i < 120; ++i) plan.identity(Subset::query, ids[i]);
  for (std::size_t i = 120; i < 132; ++i)  // distractors: in the gallery only
    plan.tracklet(Subset::gallery, ids[i], uniform_int(plan.rng(), 0, camera_count - 1), plan.person(), {3, 16});
  write_tracklets(root / release_folder, plan, {64, 128}, [&](const Tracklet& t, int frame) {
    static constexpr std::array<const char*, 3> folders{"train", "query", "gallery"};
    return std::filesystem::path(folders[static_cast<std::size_t>(t.subset)]) /
           fmt::format("{:04d}", t.pid) / fmt::format("{:04d}", t.camera * 10 + t.number) /
           fmt::format("{:04d}_C{}_F{:04d}_X{:05d}.jpg", t.pid, t.camera + 1, frame + 1,
                       static_cast<int>(t.seed % 90000) + frame * 12);
  });
  write_synthetic_readme(root / release_folder / "README.txt", "DukeMTMC-VideoReID", seed);
}

void DukeMTMCVideoReID::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_duke_video(root);
}

}  // namespace fgreid::datasets
