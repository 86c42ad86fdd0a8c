#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <string>
#include <vector>

namespace fgreid::datasets {

namespace {

constexpr std::string_view expected_name =
    "PPPP_cCsS_FFFFFF_BB.jpg, e.g. 0002_c1s1_000451_03.jpg";

// The length in frames of each recorded sequence of cameras c1..c6, as published with the
// release (torchreid and the st-ReID code use the same table).
constexpr std::array<std::int64_t, 6> c1{72681, 74546, 74881, 74761, 74891, 54346};
constexpr std::array<std::int64_t, 3> c2{163691, 164727, 98102};
constexpr std::array<std::int64_t, 3> c3{161708, 161769, 104469};
constexpr std::array<std::int64_t, 6> c4{72707, 72473, 74810, 74541, 74910, 50616};
constexpr std::array<std::int64_t, 3> c5{161095, 161724, 103487};
constexpr std::array<std::int64_t, 4> c6{87551, 131268, 95817, 30952};
constexpr std::array<std::span<const std::int64_t>, 6> sequence_lengths{c1, c2, c3, c4, c5, c6};

constexpr int max_pid = 1501;
constexpr std::string_view release_folder = "Market-1501-v15.09.15";

struct RawEntry {
  std::filesystem::path path;
  MarketName name;
};

constexpr std::string_view other_data =
    "other data in Market-1501's names reads with recipe_custom_image's folder tree or lists";

constexpr std::string_view needed_folders =
    "Market-1501 needs bounding_box_train/, query/ and bounding_box_test/ in --data-root or in "
    "its Market-1501-v15.09.15/";

/// The .jpg files of `folder`, sorted by file name, junk dropped, every name checked.
std::vector<RawEntry> read_folder(const std::filesystem::path& folder) {
  auto files = jpg_files(folder);
  std::vector<RawEntry> entries;
  entries.reserve(files.size());
  for (auto& path : files) {
    const auto name = parse_market_name(path.filename().string());
    if (!name)
      throw DataError(fmt::format("{}: not a Market-1501 image name (expected {})",
                                  path.string(), expected_name));
    if (name->pid < -1 || name->pid > max_pid)
      throw DataError(fmt::format("{}: person id {} out of range (expected -1 for junk or 0..{}; {})",
                                  path.string(), name->pid, max_pid, other_data));
    if (name->camera < 1 || name->camera > static_cast<int>(sequence_lengths.size()))
      throw DataError(fmt::format("{}: camera c{} out of range (expected c1..c{}; {})", path.string(),
                                  name->camera, sequence_lengths.size(), other_data));
    if (name->pid == -1) continue;
    entries.push_back({std::move(path), *name});
  }
  return entries;
}

// Data renamed into Market-1501's names (torchreid #223) often numbers sequences beyond the
// release's table: such an image still trains and tests, its frame unknown (-1), which only
// --st-reid refuses (naming the file).
Entry to_entry(const RawEntry& raw) {
  const auto& name = raw.name;
  const auto frame = market_global_frame(name.camera, name.sequence, name.frame);
  return Entry{.images = {raw.path}, .pid = name.pid, .camid = name.camera - 1, .frame = frame.value_or(-1)};
}

std::vector<Entry> to_entries(const std::vector<RawEntry>& raw) {
  std::vector<Entry> entries;
  entries.reserve(raw.size());
  for (const auto& item : raw) entries.push_back(to_entry(item));
  return entries;
}

}  // namespace

std::optional<MarketName> parse_market_name(std::string_view filename) {
  MarketName name;
  NameReader reader(filename);
  const bool junk = reader.literal("-1");
  if (junk)
    name.pid = -1;
  else if (!reader.number(name.pid))
    return std::nullopt;
  if (reader.literal("_c") && reader.number(name.camera) && reader.literal("s") &&
      reader.number(name.sequence) && reader.literal("_") && reader.number(name.frame) &&
      reader.literal("_") && reader.number(name.box) && reader.literal(".jpg") && reader.done())
    return name;
  return std::nullopt;
}

std::span<const std::int64_t> market_sequence_lengths(int camera) {
  if (camera < 1 || camera > static_cast<int>(sequence_lengths.size())) return {};
  return sequence_lengths[static_cast<std::size_t>(camera - 1)];
}

// The six cameras recorded in parallel, each in consecutive sequences whose frame counters
// restart at 0. Adding the lengths of a camera's earlier sequences puts every frame on one
// clock per camera, so that time differences between sightings (st-ReID) are meaningful.
std::optional<std::int64_t> market_global_frame(int camera, int sequence, std::int64_t frame) {
  const auto lengths = market_sequence_lengths(camera);
  if (sequence < 1 || sequence > static_cast<int>(lengths.size())) return std::nullopt;
  return std::accumulate(lengths.begin(), lengths.begin() + (sequence - 1), frame);
}

Splits Market1501::load(const std::filesystem::path& root, const Options& options) {
  const auto base = release_base(root, release_folder);
  const auto train = base / "bounding_box_train", query = base / "query",
             gallery = base / "bounding_box_test";
  // A missing folder is the likelier mistake (a wrong --data-root): report it before any name.
  for (const auto& folder : {train, query, gallery}) require_folder(folder, needed_folders);
  return finish_splits(to_entries(read_folder(train)), to_entries(read_folder(query)),
                       to_entries(read_folder(gallery)),
                       options);
}

void Market1501::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_market(root);
}

}  // namespace fgreid::datasets
