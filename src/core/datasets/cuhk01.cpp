#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/legacy_random.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace fgreid::datasets {

namespace {

constexpr std::string_view release_folder = "cuhk01";

/// The folder holding the images: campus/ (torchreid) or the release folder itself (the seed).
std::filesystem::path image_folder(const std::filesystem::path& root) {
  const auto base = release_base(root, release_folder);
  if (std::filesystem::is_directory(base / "campus")) return base / "campus";
  return base;
}

std::vector<std::filesystem::path> png_files(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(folder))
    if (item.is_regular_file() && item.path().extension() == ".png") files.push_back(item.path());
  std::ranges::sort(files, {}, [](const auto& path) { return path.filename(); });
  return files;
}

}  // namespace

std::optional<Cuhk01Name> parse_cuhk01_name(std::string_view filename) {
  Cuhk01Name name;
  NameReader reader(filename);
  if (reader.digits(4, name.person) && reader.digits(3, name.image) && reader.literal(".png") &&
      reader.done() && name.person >= 1 && name.image >= 1 && name.image <= 4)
    return name;
  return std::nullopt;
}

std::vector<std::int64_t> cuhk01_test_ids(int identities, int test_ids, std::uint32_t seed) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(identities));
  std::iota(order.begin(), order.end(), 0);
  auto rng = LegacyMT19937::numpy(seed);
  numpy_shuffle(order, rng);
  order.erase(order.begin(), order.begin() + (identities - test_ids));
  std::ranges::sort(order);
  return order;
}

Splits CUHK01::load(const std::filesystem::path& root, const Options& options) {
  const auto folder = image_folder(root);
  require_folder(folder, "CUHK01 needs its PPPPIII.png images in campus/ (torchreid) or in "
                         "--data-root itself (the seed)");
  struct Image {
    std::filesystem::path path;
    Cuhk01Name name;
  };
  std::vector<Image> images;
  std::set<int> persons;
  for (auto& path : png_files(folder)) {
    const auto name = parse_cuhk01_name(path.filename().string());
    if (!name)
      throw DataError(fmt::format("{}: not a CUHK01 image name (expected PPPPIII.png with image "
                                  "001..004, e.g. 0001001.png)", path.string()));
    persons.insert(name->person);
    images.push_back({std::move(path), *name});
  }
  if (images.empty())
    throw DataError(fmt::format("{}: no CUHK01 images (expected campus/PPPPIII.png, e.g. "
                                "campus/0001001.png, or the images directly here)", folder.string()));
  const int identities = static_cast<int>(persons.size());
  if (*persons.rbegin() != identities) {
    int missing = 1;
    while (persons.contains(missing)) ++missing;
    throw DataError(fmt::format("{}: identity {:04d} has no image (CUHK01's identities run 0001.."
                                "{:04d} without gaps; the split draws them by position)",
                                folder.string(), missing, *persons.rbegin()));
  }
  if (options.split < 1 || options.split >= identities)
    throw UsageError(fmt::format("--split {}: CUHK01 at {} has {} identities; test 1..{} of them "
                                 "(100 or 485 on the release)", options.split, folder.string(),
                                 identities, identities - 1));
  if (options.split_seed < 0 || options.split_seed > 0xffffffffLL)
    throw UsageError(fmt::format("--split-seed {}: numpy's seed must be in 0..4294967295",
                                 options.split_seed));

  const auto test_ids =
      cuhk01_test_ids(identities, options.split, static_cast<std::uint32_t>(options.split_seed));
  const std::set<std::int64_t> tested(test_ids.begin(), test_ids.end());
  std::vector<Entry> train, query, gallery;
  for (auto& image : images) {
    const int camera = (image.name.image - 1) / 2;
    Entry entry{.images = {std::move(image.path)}, .pid = image.name.person, .camid = camera, .frame = -1};
    if (!tested.contains(image.name.person - 1))
      train.push_back(std::move(entry));
    else
      (camera == 0 ? query : gallery).push_back(std::move(entry));
  }
  auto splits = finish_splits(std::move(train), std::move(query), std::move(gallery),
                              options.held_out);
  std::vector<std::int64_t> tested_names;  // as written: 1-based
  for (const auto id : test_ids) tested_names.push_back(id + 1);
  splits.info["identities"] = identities;
  splits.info["test_ids"] = options.split;
  splits.info["split_seed"] = options.split_seed;
  splits.info["test_identities"] = tested_names;
  return splits;
}

void write_synthetic_cuhk01(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  std::vector<std::int64_t> pids(200);
  std::iota(pids.begin(), pids.end(), 1);
  // Every identity as "train": the loader, not the layout, decides who is tested. Two views,
  // two images in each.
  ReleaseSpec spec{.cameras = 2,
                   .image_size = {60, 160},
                   .train_pids = pids,
                   .test_pids = {},
                   .distractor_pids = {},
                   .cameras_per_id = {2, 2},
                   .train_per_camera = {2, 2},
                   .gallery_per_camera = {2, 2}};
  const auto base = root / release_folder;
  std::filesystem::create_directories(base / "campus");
  write_release(base, spec, [](const Sighting& s) {
    return std::filesystem::path("campus") /
           fmt::format("{:04d}{:03d}.png", s.pid, s.camera * 2 + s.index % 2 + 1);
  }, seed);
  write_synthetic_readme(base / "README.txt", "CUHK01", seed);
}

void CUHK01::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_cuhk01(root);
}

}  // namespace fgreid::datasets
