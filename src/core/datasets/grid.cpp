#include <fgreid/datasets/grid.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/error.hpp>

#include "mat_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

namespace fgreid::datasets {

namespace {

constexpr int camera_count = 8;
constexpr std::string_view needs =
    "GRID needs underground_reid/ with probe/, gallery/ and features_and_partitions.mat in "
    "--data-root, its grid/ or its GRID/";

std::filesystem::path find_release(const std::filesystem::path& root) {
  if (root.filename() == "underground_reid" && std::filesystem::is_directory(root)) return root;
  for (const auto* folder : {"grid", "GRID"})
    if (std::filesystem::is_directory(root / folder / "underground_reid"))
      return root / folder / "underground_reid";
  return root / "underground_reid";
}

struct Image {
  std::filesystem::path path;
  GridName name;
};

std::vector<Image> read_folder(const std::filesystem::path& folder) {
  require_folder(folder, needs);
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(folder))
    if (item.is_regular_file() && item.path().extension() == ".jpeg") files.push_back(item.path());
  std::ranges::sort(files, {}, [](const auto& path) { return path.filename(); });
  std::vector<Image> images;
  for (auto& path : files) {
    const auto name = parse_grid_name(path.filename().string());
    if (!name)
      throw DataError(fmt::format("{}: not a GRID image name (expected PPPP_C_<frame and box>.jpeg "
                                  "with camera 1..{}, e.g. 0001_1_25004_107_32_130.jpeg)",
                                  path.string(), camera_count));
    images.push_back({std::move(path), *name});
  }
  return images;
}

/// trainIdxAll{split_index}'s third field.
std::vector<std::int64_t> read_train_ids(const std::filesystem::path& path, int split_index) {
  const auto file = mat::open(path, needs);
  const auto all = mat::read(file, path, "trainIdxAll");
  if (all->class_type != MAT_C_CELL)
    throw DataError(fmt::format("{}: 'trainIdxAll' is not a cell array", path.string()));
  const auto splits = mat::elements(*all);
  if (split_index < 0 || static_cast<std::size_t>(split_index) >= splits)
    throw UsageError(fmt::format("--split-index {}: {} has {} splits (0..{})", split_index,
                                 path.string(), splits, static_cast<int>(splits) - 1));
  const auto* split = Mat_VarGetCell(all.get(), split_index);
  const auto where = fmt::format("{}: trainIdxAll{{{}}}", path.string(), split_index + 1);
  // An empty struct (no data) would make matio's field lookup dereference null.
  if (split == nullptr || split->class_type != MAT_C_STRUCT || split->data == nullptr ||
      mat::elements(*split) == 0 || Mat_VarGetNumberOfFields(const_cast<matvar_t*>(split)) < 3)
    throw DataError(where + " is not a struct with the training identities in its third field");
  const auto* field = Mat_VarGetStructFieldByIndex(const_cast<matvar_t*>(split), 2, 0);
  std::vector<double> values;
  if (field == nullptr || !mat::numbers(*field, values) || values.empty())
    throw DataError(where + ": its third field is not a list of identities");
  std::vector<std::int64_t> ids;
  for (const auto value : values) {
    if (value < 1 || value > 1e9 || value != std::floor(value))  // checked before the cast
      throw DataError(fmt::format("{}: {} is not an identity (1, 2, ...)", where, value));
    ids.push_back(static_cast<std::int64_t>(value));
  }
  return ids;
}

}  // namespace

std::optional<GridName> parse_grid_name(std::string_view filename) {
  GridName name;
  NameReader reader(filename);
  if (reader.digits(4, name.person) && reader.literal("_") && reader.number(name.camera) &&
      reader.literal("_") && filename.ends_with(".jpeg") && name.camera >= 1 &&
      name.camera <= camera_count)
    return name;
  return std::nullopt;
}

Splits GRID::load(const std::filesystem::path& root, const Options& options) {
  const auto base = find_release(root);
  require_folder(base, needs);
  const auto probe = read_folder(base / "probe"), gallery = read_folder(base / "gallery");
  const auto partitions = base / "features_and_partitions.mat";
  const auto train_ids = read_train_ids(partitions, options.split_index);
  const std::set<std::int64_t> training(train_ids.begin(), train_ids.end());

  std::vector<Entry> train, query, test_gallery;
  for (const auto* images : {&probe, &gallery})
    for (const auto& image : *images) {
      Entry entry{.images = {image.path}, .pid = image.name.person, .camid = image.name.camera - 1, .frame = -1};
      if (training.contains(image.name.person))
        train.push_back(std::move(entry));
      else
        (images == &probe ? query : test_gallery).push_back(std::move(entry));
    }
  auto splits = finish_splits(std::move(train), std::move(query), std::move(test_gallery),
                              options.held_out);
  splits.info["split_index"] = options.split_index;
  splits.info["train_identities"] = train_ids;
  return splits;
}

void write_grid_partitions(const std::filesystem::path& file,
                           const std::vector<std::vector<std::int64_t>>& train_ids) {
  const auto mat_file = mat::create(file);
  std::size_t cell_dims[2] = {1, train_ids.size()};
  auto* cell = Mat_VarCreate("trainIdxAll", MAT_C_CELL, MAT_T_CELL, 2, cell_dims, nullptr, 0);
  // The identities by position: fgreid's names for the first two fields, the test ones.
  const char* fields[3] = {"idx_test_probe", "idx_test_gallery", "idx_train"};
  for (std::size_t s = 0; s < train_ids.size(); ++s) {
    std::size_t one[2] = {1, 1};
    auto* split = Mat_VarCreateStruct(nullptr, 2, one, fields, 3);
    std::vector<double> train(train_ids[s].begin(), train_ids[s].end());
    Mat_VarSetStructFieldByIndex(split, 0, 0, mat::row(nullptr, {}));
    Mat_VarSetStructFieldByIndex(split, 1, 0, mat::row(nullptr, {}));
    Mat_VarSetStructFieldByIndex(split, 2, 0, mat::row(nullptr, train));
    Mat_VarSetCell(cell, static_cast<int>(s), split);
  }
  mat::write(mat_file, file, cell);
}

void write_synthetic_grid(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  constexpr int paired = 100, distractors = 80;
  std::vector<std::int64_t> pids(paired), others(distractors);
  std::iota(pids.begin(), pids.end(), 1);
  std::iota(others.begin(), others.end(), 10001);  // planned apart, written as 0000
  // Each identity once on each of two cameras: the first sighting is the probe.
  ReleaseSpec spec{.cameras = camera_count,
                   .image_size = {64, 128},
                   .train_pids = pids,
                   .test_pids = {},
                   .distractor_pids = others,
                   .cameras_per_id = {2, 2},
                   .train_per_camera = {1, 1},
                   .gallery_per_camera = {1, 1}};
  const auto base = root / "grid" / "underground_reid";
  write_release(base, spec, [](const Sighting& s) {
    const bool distractor = s.pid > 10000;
    // the release's tail: frame, then the box (x, y, width, height)
    return std::filesystem::path(!distractor && s.index == 0 ? "probe" : "gallery") /
           fmt::format("{:04d}_{}_{:05d}_{}_{}_{}_{}.jpeg", distractor ? 0 : s.pid, s.camera + 1,
                       s.frame, 100 + s.pid % 500, 20 + s.index, 40, 120);
  }, seed);
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::int64_t>> splits;
  for (int s = 0; s < 10; ++s) {
    auto order = pids;
    for (std::size_t i = order.size() - 1; i > 0; --i)
      std::swap(order[i], order[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<int>(i)))]);
    order.resize(paired / 2);
    splits.push_back(order);
  }
  write_grid_partitions(base / "features_and_partitions.mat", splits);
  write_synthetic_readme(root / "grid" / "README.txt", "GRID", seed);
}

void GRID::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_grid(root);
}

}  // namespace fgreid::datasets
