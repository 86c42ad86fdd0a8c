#include <fgreid/datasets/ilidsvid.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/datasets/synthetic_video.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>

namespace fgreid::datasets {

namespace {

constexpr std::string_view needs =
    "iLIDS-VID needs i-LIDS-VID/sequences/cam1/, i-LIDS-VID/sequences/cam2/ and "
    "train-test people splits/train_test_splits_ilidsvid.mat in --data-root or its ilids-vid/, "
    "iLIDS-VID/ or iLIDS/";
const std::filesystem::path sequences = std::filesystem::path("i-LIDS-VID") / "sequences";
const std::filesystem::path split_file =
    std::filesystem::path("train-test people splits") / "train_test_splits_ilidsvid.mat";

std::vector<std::string> folder_names(const std::filesystem::path& camera) {
  std::vector<std::string> names;
  for (const auto& folder : sub_folders(camera)) names.push_back(folder.filename().string());
  return names;
}

}  // namespace

Splits ILIDSVID::load(const std::filesystem::path& root, const Options& options) {
  const auto base = find_release_base(root, {"ilids-vid", "iLIDS-VID", "iLIDS"}, sequences);
  const std::array cameras{base / sequences / "cam1", base / sequences / "cam2"};
  for (const auto& camera : cameras) require_folder(camera, needs);
  const auto mat = base / split_file;
  require_file(mat, needs);

  const auto persons = folder_names(cameras[0]);
  const auto others = folder_names(cameras[1]);
  for (const auto& person : persons)
    if (!std::ranges::binary_search(others, person))
      throw DataError(fmt::format("{}: person folder not found (cam1 has {})",
                                  (cameras[1] / person).string(), person));
  for (const auto& person : others)
    if (!std::ranges::binary_search(persons, person))
      throw DataError(fmt::format("{}: person folder not found (cam2 has {})",
                                  (cameras[0] / person).string(), person));

  const auto ls_set = read_mat_matrix(mat, "ls_set");
  if (ls_set.cols != persons.size() || ls_set.rows == 0)
    throw DataError(fmt::format("{}: variable 'ls_set' is {}×{}, expected one row per split and "
                                "one column per person folder of {} ({})", mat.string(),
                                ls_set.rows, ls_set.cols, cameras[0].string(), persons.size()));
  if (options.split_index < 0 || static_cast<std::size_t>(options.split_index) >= ls_set.rows)
    throw UsageError(fmt::format("--split-index {}: {} has {} splits (0..{})", options.split_index,
                                 mat.string(), ls_set.rows, ls_set.rows - 1));
  const auto row = static_cast<std::size_t>(options.split_index);
  const std::size_t test_count = persons.size() / 2;
  std::vector<std::string> train, test;
  std::set<long long> seen;
  for (std::size_t col = 0; col < ls_set.cols; ++col) {
    const auto index = mat_integer(mat, "ls_set", ls_set, row, col);
    if (index < 1 || static_cast<std::size_t>(index) > persons.size() || !seen.insert(index).second)
      throw DataError(fmt::format("{}: ls_set({}, {}) = {}: split {} must be a permutation of "
                                  "1..{} (the person folders of cam1, sorted)", mat.string(),
                                  row + 1, col + 1, index, row, persons.size()));
    (col < test_count ? test : train).push_back(persons[static_cast<std::size_t>(index - 1)]);
  }
  std::ranges::sort(train);
  std::ranges::sort(test);
  auto splits = two_camera_splits(cameras, train, test, "person", mat,
                                  options.held_out);
  splits.info["split_index"] = options.split_index;
  splits.info["splits"] = ls_set.rows;
  splits.info["split_file"] = mat.string();
  splits.info["train_persons"] = train.size();
  splits.info["test_persons"] = test.size();
  return splits;
}

void write_synthetic_ilidsvid(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const auto base = root / "iLIDS-VID";
  VideoPlanner plan(seed, 2);
  const auto ids = draw_ids(seed, 80, 1, 319);  // the release numbers persons up to 319
  for (const auto pid : ids) {
    const auto person = plan.person();
    for (int camera = 0; camera < 2; ++camera) plan.tracklet(Subset::train, pid, camera, person, {6, 20});
  }
  write_tracklets(base, plan, {64, 128}, [&](const Tracklet& t, int frame) {
    const auto cam = fmt::format("cam{}", t.camera + 1), person = fmt::format("person{:03d}", t.pid);
    return sequences / cam / person / fmt::format("{}_{}_{:05d}.png", cam, person, 100 + frame);
  });
  // ten splits: permutations of 1..80 (the sorted person folders), first half test
  std::mt19937_64 rng(derive_seed(seed, 10));
  std::vector<double> rows;
  for (int split = 0; split < 10; ++split) {
    std::vector<double> order(ids.size());
    std::iota(order.begin(), order.end(), 1.0);
    for (int i = static_cast<int>(order.size()) - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(uniform_int(rng, 0, i))]);
    rows.insert(rows.end(), order.begin(), order.end());
  }
  std::filesystem::create_directories((base / split_file).parent_path());
  write_mat_matrices(base / split_file, {{"ls_set", MatMatrix::from_rows(10, ids.size(), rows)}});
  write_synthetic_readme(base / "README.txt", "iLIDS-VID", seed);
}

void ILIDSVID::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_ilidsvid(root);
}

}  // namespace fgreid::datasets
