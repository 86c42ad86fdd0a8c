#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/prid2011.hpp>
#include <fgreid/datasets/synthetic_video.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <random>

namespace fgreid::datasets {

namespace {

constexpr std::string_view needs =
    "PRID-2011 needs prid_2011/multi_shot/cam_a/ and cam_b/ (or multi_shot/…) in --data-root or "
    "its prid2011/";
constexpr std::string_view splits_name = "splits_prid2011.json";
// The release's readme: persons 1..200 are seen by both cameras; a higher number names a
// different person in each camera.
constexpr std::int64_t shared_persons = 200;

std::vector<std::string> person_names(const std::filesystem::path& camera) {
  std::vector<std::string> names;
  for (const auto& folder : sub_folders(camera)) names.push_back(folder.filename().string());
  return names;
}

/// The persons of one side of a split, as strings.
std::vector<std::string> split_side(const nlohmann::json& split, const char* side,
                                    const std::filesystem::path& file, std::size_t index) {
  if (!split.is_object() || !split.contains(side) || !split[side].is_array())
    throw DataError(fmt::format("{}: split {} has no \"{}\" list of person folders", file.string(),
                                index, side));
  std::vector<std::string> persons;
  for (const auto& person : split[side]) {
    if (!person.is_string())
      throw DataError(fmt::format("{}: split {} \"{}\" holds {}, not a person folder name",
                                  file.string(), index, side, person.dump()));
    persons.push_back(person.get<std::string>());
  }
  return persons;
}

}  // namespace

nlohmann::json random_person_halves(const std::vector<std::string>& persons, std::uint64_t seed,
                                    int count) {
  std::mt19937_64 rng(seed);
  nlohmann::json splits = nlohmann::json::array();
  for (int s = 0; s < count; ++s) {
    auto order = persons;
    for (int i = static_cast<int>(order.size()) - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(synthetic::uniform_int(rng, 0, i))]);
    const auto half = static_cast<std::ptrdiff_t>(order.size() / 2);
    std::vector<std::string> train(order.begin(), order.begin() + half), test(order.begin() + half, order.end());
    std::ranges::sort(train);
    std::ranges::sort(test);
    splits.push_back({{"train", train}, {"test", test}});
  }
  return splits;
}

Splits PRID2011::load(const std::filesystem::path& root, const Options& options) {
  const auto base = find_release_base(root, {"prid2011"}, "prid_2011");
  auto shots = base / "prid_2011" / "multi_shot";
  if (!std::filesystem::is_directory(shots) && std::filesystem::is_directory(base / "multi_shot"))
    shots = base / "multi_shot";  // the seed's layout
  const std::array cameras{shots / "cam_a", shots / "cam_b"};
  for (const auto& camera : cameras) require_folder(camera, needs);

  const auto file = base / splits_name;
  nlohmann::json splits;
  bool created = false;
  if (std::filesystem::exists(file)) {
    std::ifstream in(file);
    splits = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (splits.is_discarded() || !splits.is_array() || splits.empty())
      throw DataError(fmt::format("{}: not a JSON list of {{\"train\": [...], \"test\": [...]}} "
                                  "splits", file.string()));
  } else {
    const auto in_a = person_names(cameras[0]), in_b = person_names(cameras[1]);
    std::vector<std::string> both;
    std::ranges::set_intersection(in_a, in_b, std::back_inserter(both));
    std::erase_if(both, [&](const std::string& person) {
      return person_number(cameras[0] / person, "person_") > shared_persons;
    });
    if (both.size() < 2)
      throw DataError(fmt::format("{}: {} persons are seen by both cameras; a split needs at least 2",
                                  shots.string(), both.size()));
    splits = random_person_halves(both, static_cast<std::uint64_t>(options.split_seed));
    created = true;
    std::ofstream out(file);
    if (out << splits.dump() << '\n')
      fmt::print(stderr, "[fgreid] {}: absent, so wrote 10 random halves (seed {}) of the {} "
                         "persons seen by both cameras\n", file.string(), options.split_seed, both.size());
    else
      fmt::print(stderr, "[fgreid] {}: absent and not writable; using 10 random halves (seed {}) "
                         "of the {} persons seen by both cameras\n", file.string(),
                 options.split_seed, both.size());
  }
  if (options.split_index < 0 || static_cast<std::size_t>(options.split_index) >= splits.size())
    throw UsageError(fmt::format("--split-index {}: {} has {} splits (0..{})", options.split_index,
                                 file.string(), splits.size(), splits.size() - 1));
  const auto index = static_cast<std::size_t>(options.split_index);
  const auto train = split_side(splits[index], "train", file, index);
  const auto test = split_side(splits[index], "test", file, index);
  for (const auto& person : test)
    if (std::ranges::find(train, person) != train.end())
      throw DataError(fmt::format("{}: split {} names {} for both training and testing",
                                  file.string(), index, person));
  auto result = two_camera_splits(cameras, train, test, "person_", file,
                                  options.held_out);
  result.info["split_index"] = options.split_index;
  result.info["splits"] = splits.size();
  result.info["split_file"] = file.string();
  result.info["split_file_created"] = created;
  if (created) result.info["split_seed"] = options.split_seed;
  result.info["train_persons"] = train.size();
  result.info["test_persons"] = test.size();
  return result;
}

void write_synthetic_prid2011(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const auto base = root / "prid2011";
  VideoPlanner plan(seed, 2);
  // persons 1..80 walk past both cameras; as in the release, the numbers above 200 are other
  // people in each camera (20 in cam_a, 60 in cam_b)
  for (std::int64_t pid = 1; pid <= 80; ++pid) {
    const auto person = plan.person();
    for (int camera = 0; camera < 2; ++camera) plan.tracklet(Subset::train, pid, camera, person, {5, 20});
  }
  for (int camera = 0; camera < 2; ++camera)
    for (std::int64_t pid = 201; pid <= (camera == 0 ? 220 : 260); ++pid)
      plan.tracklet(Subset::train, pid, camera, plan.person(), {5, 20});
  write_tracklets(base, plan, {64, 128}, [&](const Tracklet& t, int frame) {
    return std::filesystem::path("prid_2011") / "multi_shot" / (t.camera == 0 ? "cam_a" : "cam_b") /
           fmt::format("person_{:04d}", t.pid) / fmt::format("{:04d}.png", frame + 1);
  });
  std::vector<std::string> both;
  for (int pid = 1; pid <= 80; ++pid) both.push_back(fmt::format("person_{:04d}", pid));
  std::ofstream(base / splits_name) << random_person_halves(both, seed).dump() << '\n';
  write_synthetic_readme(base / "README.txt", "PRID-2011", seed);
}

void PRID2011::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_prid2011(root);
}

}  // namespace fgreid::datasets
