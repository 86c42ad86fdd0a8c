#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/legacy_random.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <numeric>
#include <set>

namespace fgreid::datasets {

namespace {

constexpr std::string_view release_folder = "VehicleID_V1.0";
constexpr std::int64_t query_camera = 0, gallery_camera = 1;

/// The entries of one list, grouped by vehicle in the order vehicles first appear.
struct Vehicle {
  std::int64_t id = 0;
  std::vector<std::filesystem::path> images;  // in list order
};

std::vector<Vehicle> read_vehicles(const std::filesystem::path& list,
                                   const std::filesystem::path& image_folder) {
  std::vector<Vehicle> vehicles;
  std::map<std::int64_t, std::size_t> index_of;
  for (const auto& line : read_list(list, 2, "image_name vehicle_id")) {
    const auto id = list_integer(list, line, 1, "vehicle id");
    auto image = listed_image(list, line, image_folder, line.fields[0] + ".jpg");
    const auto [it, fresh] = index_of.emplace(id, vehicles.size());
    if (fresh) vehicles.push_back({.id = id, .images = {}});
    vehicles[it->second].images.push_back(std::move(image));
  }
  return vehicles;
}

/// The protocol's test split of `vehicles`: one drawn image each to the gallery, the rest queries.
void draw_test_split(const std::vector<Vehicle>& vehicles, std::int64_t seed,
                     std::vector<Entry>& query, std::vector<Entry>& gallery) {
  std::vector<std::size_t> counts;
  for (const auto& vehicle : vehicles) counts.push_back(vehicle.images.size());
  const auto drawn = vehicleid_gallery_draw(counts, seed);
  for (std::size_t v = 0; v < vehicles.size(); ++v)
    for (std::size_t i = 0; i < vehicles[v].images.size(); ++i)
      (i == drawn[v] ? gallery : query)
          .push_back({.images = {vehicles[v].images[i]},
                      .pid = vehicles[v].id,
                      .camid = i == drawn[v] ? gallery_camera : query_camera,
                      .frame = -1});
}

}  // namespace

std::vector<std::size_t> vehicleid_gallery_draw(const std::vector<std::size_t>& image_counts,
                                                std::int64_t seed) {
  auto rng = LegacyMT19937::python(seed);
  std::vector<std::size_t> drawn;
  for (const auto count : image_counts) drawn.push_back(python_randbelow(rng, count));
  return drawn;
}

Splits VehicleID::load(const std::filesystem::path& root, const Options& options) {
  const auto base = release_base(root, release_folder);
  const auto image_folder = base / "image", split_folder = base / "train_test_split";
  constexpr std::string_view needs =
      "VehicleID needs image/ and train_test_split/ in --data-root or in its VehicleID_V1.0/";
  require_folder(image_folder, needs);
  require_folder(split_folder, needs);
  if (options.trials < 1)
    throw UsageError(fmt::format("--trials {}: must be at least 1", options.trials));
  if (options.test_size <= 0)
    throw UsageError(fmt::format("--test-size {}: the release's test lists are 800, 1600 and 2400",
                                 options.test_size));
  const auto train_list = split_folder / "train_list.txt";
  const auto test_list = split_folder / fmt::format("test_list_{}.txt", options.test_size);
  const auto train_vehicles = read_vehicles(train_list, image_folder);
  const auto test_vehicles = read_vehicles(test_list, image_folder);

  Splits splits;
  if (options.held_out.validation == 0.0) {
    for (const auto& vehicle : train_vehicles)
      for (const auto& image : vehicle.images)
        splits.train.push_back({.images = {image}, .pid = vehicle.id, .camid = query_camera, .frame = -1});
    draw_test_split(test_vehicles, options.gallery_seed, splits.query, splits.gallery);
    for (int trial = 1; trial < options.trials; ++trial) {
      auto& draw = splits.trials.emplace_back();
      draw_test_split(test_vehicles, options.gallery_seed + trial, draw.query, draw.gallery);
    }
  } else {
    // The held-out training vehicles are tested by the release's own protocol (one gallery
    // image each), not market_sub's, since VehicleID has no cameras to tell matches apart.
    std::vector<std::int64_t> ids;
    for (const auto& vehicle : train_vehicles) ids.push_back(vehicle.id);
    const auto held = draw_validation_ids(ids, options.held_out);
    const std::set<std::int64_t> held_out(held.begin(), held.end());
    std::vector<Vehicle> validation;
    std::size_t test_images = 0;
    for (const auto& vehicle : test_vehicles) test_images += vehicle.images.size();
    for (const auto& vehicle : train_vehicles) {
      if (held_out.contains(vehicle.id)) {
        validation.push_back(vehicle);
        continue;
      }
      for (const auto& image : vehicle.images)
        splits.train.push_back({.images = {image}, .pid = vehicle.id, .camid = query_camera, .frame = -1});
    }
    draw_test_split(validation, options.held_out.validation_seed, splits.query, splits.gallery);
    for (int trial = 1; trial < options.trials; ++trial) {
      auto& draw = splits.trials.emplace_back();
      draw_test_split(validation, options.held_out.validation_seed + trial, draw.query, draw.gallery);
    }
    splits.info["validation"] = {{"fraction", options.held_out.validation},
                                 {"seed", options.held_out.validation_seed},
                                 {"held_out_ids", held.size()},
                                 {"official_test_images_unused", test_images}};
  }
  relabel_ascending(splits.train);
  splits.info["test_list"] = test_list.filename().string();
  splits.info["test_vehicles"] = test_vehicles.size();
  splits.info["gallery_seed"] = options.gallery_seed;
  splits.info["trials"] = options.trials;
  return splits;
}

void write_synthetic_vehicleid(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const auto ids = draw_ids(seed, 240, 1, 26267);
  // Every vehicle planned as "train": the lists, not the layout, say who is tested. Front and
  // back views.
  ReleaseSpec spec{.cameras = 2,
                   .image_size = {64, 64},
                   .train_pids = ids,
                   .test_pids = {},
                   .distractor_pids = {},
                   .cameras_per_id = {1, 2},
                   .train_per_camera = {2, 4},
                   .gallery_per_camera = {2, 4}};
  const auto base = root / release_folder;
  std::filesystem::create_directories(base / "image");
  std::filesystem::create_directories(base / "train_test_split");
  int next_image = 1;
  const auto sightings = write_release(base, spec, [&](const Sighting&) {
    return std::filesystem::path("image") / fmt::format("{:07d}.jpg", next_image++);
  }, seed);

  // Train on every other vehicle; the test lists are nested, as the release's are.
  std::set<std::int64_t> train_ids;
  std::vector<std::int64_t> test_ids;
  for (std::size_t i = 0; i < ids.size(); ++i)
    (i % 2 == 0 ? static_cast<void>(train_ids.insert(ids[i])) : test_ids.push_back(ids[i]));
  const auto line = [](const Sighting& s) {
    return fmt::format("{} {}\n", s.path.stem().string(), s.pid);
  };
  std::ofstream train(base / "train_test_split" / "train_list.txt");
  for (const auto& s : sightings)
    if (train_ids.contains(s.pid)) train << line(s);
  for (const auto& [name, count] : {std::pair{"test_list_800.txt", 40}, std::pair{"test_list_1600.txt", 80},
                                    std::pair{"test_list_2400.txt", 120}}) {
    const std::set<std::int64_t> listed(test_ids.begin(), test_ids.begin() + count);
    std::ofstream test(base / "train_test_split" / name);
    for (const auto& s : sightings)
      if (listed.contains(s.pid)) test << line(s);
  }
  write_synthetic_readme(base / "README.txt", "VehicleID", seed);
}

void VehicleID::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_vehicleid(root);
}

}  // namespace fgreid::datasets
