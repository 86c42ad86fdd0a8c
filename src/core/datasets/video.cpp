#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace fgreid::datasets {

namespace {

nlohmann::json summarize_tracklets(const std::vector<Entry>& entries) {
  std::set<std::int64_t> ids, cameras;
  std::size_t total = 0, shortest = 0, longest = 0;
  for (const auto& entry : entries) {
    ids.insert(entry.pid);
    cameras.insert(entry.camid);
    const auto n = entry.images.size();
    shortest = &entry == &entries.front() ? n : std::min(shortest, n);
    longest = std::max(longest, n);
    total += n;
  }
  nlohmann::json frames = {{"total", total}};
  if (!entries.empty()) {
    frames["min"] = shortest;
    frames["mean"] = static_cast<double>(total) / static_cast<double>(entries.size());
    frames["max"] = longest;
  }
  return {{"ids", ids.size()},
          {"tracklets", entries.size()},
          {"cameras", cameras.size()},
          {"frames", std::move(frames)}};
}

}  // namespace

nlohmann::json summarize_video(const Splits& splits) {
  nlohmann::json summary = {{"train", summarize_tracklets(splits.train)},
                            {"query", summarize_tracklets(splits.query)},
                            {"gallery", summarize_tracklets(splits.gallery)}};
  if (!splits.info.empty()) summary["split"] = splits.info;
  return summary;
}

std::vector<std::filesystem::path> frame_files(const std::filesystem::path& folder,
                                               std::string_view extension) {
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(folder))
    if (item.is_regular_file() && item.path().extension() == extension) files.push_back(item.path());
  std::ranges::sort(files, {}, [](const auto& path) { return path.filename(); });
  return files;
}

std::vector<std::filesystem::path> sub_folders(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> folders;
  for (const auto& item : std::filesystem::directory_iterator(folder))
    if (item.is_directory()) folders.push_back(item.path());
  std::ranges::sort(folders, {}, [](const auto& path) { return path.filename(); });
  return folders;
}

std::filesystem::path find_release_base(const std::filesystem::path& root,
                                        std::initializer_list<std::string_view> candidates,
                                        const std::filesystem::path& marker) {
  if (std::filesystem::exists(root / marker)) return root;
  for (const auto candidate : candidates)
    if (std::filesystem::exists(root / candidate / marker)) return root / candidate;
  return root;
}

std::int64_t person_number(const std::filesystem::path& folder, std::string_view prefix) {
  const auto name = folder.filename().string();
  NameReader reader(name);
  std::int64_t number = 0;
  if (!reader.literal(prefix) || !reader.number(number) || !reader.done())
    throw DataError(fmt::format("{}: not a person folder (expected {}NNN)", folder.string(), prefix));
  return number;
}

Splits two_camera_splits(const std::array<std::filesystem::path, 2>& cameras,
                         const std::vector<std::string>& train_persons,
                         const std::vector<std::string>& test_persons, std::string_view prefix,
                         const std::filesystem::path& split_source,
                         const ValidationOptions& validation) {
  const auto tracklet = [&](const std::string& person, std::size_t camera) {
    const auto folder = cameras[camera] / person;
    if (!std::filesystem::is_directory(folder))
      throw DataError(fmt::format("{}: person folder not found ({} names {})", folder.string(),
                                  split_source.string(), person));
    Entry entry{.images = frame_files(folder, ".png"), .pid = person_number(folder, prefix),
                .camid = static_cast<std::int64_t>(camera), .frame = -1};
    if (entry.images.empty())
      throw DataError(fmt::format("{}: tracklet without frames (no .png in the folder)", folder.string()));
    return entry;
  };
  std::vector<Entry> train, query, gallery;
  for (const auto& person : train_persons)
    for (std::size_t camera = 0; camera < 2; ++camera) train.push_back(tracklet(person, camera));
  for (const auto& person : test_persons) {
    query.push_back(tracklet(person, 0));
    gallery.push_back(tracklet(person, 1));
  }
  return finish_splits(std::move(train), std::move(query), std::move(gallery), validation);
}

}  // namespace fgreid::datasets
