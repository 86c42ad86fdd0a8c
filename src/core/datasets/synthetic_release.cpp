// The generic synthetic release: identities walk past a few of the release's cameras.
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

namespace fgreid::datasets::synthetic {

namespace {

/// `count` distinct cameras in random order.
std::vector<int> pick_cameras(std::mt19937_64& rng, int cameras, int count) {
  std::vector<int> order(static_cast<std::size_t>(cameras));
  std::iota(order.begin(), order.end(), 0);
  for (int i = cameras - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(uniform_int(rng, 0, i))]);
  order.resize(static_cast<std::size_t>(count));
  return order;
}

struct Planned {
  Sighting sighting;
  std::size_t person = 0;  // index into the appearances
  std::uint64_t seed = 0;
};

class Plan {
 public:
  Plan(const ReleaseSpec& spec, std::uint64_t seed) : spec_(spec), seed_(seed), rng_(seed) {}

  /// One identity's walk: cameras, and the frame at which it reaches each.
  void identity(Subset first_subset, std::int64_t pid) {
    const auto person = new_person();
    const int seen_by = uniform_int(rng_, std::min(spec_.cameras_per_id.first, spec_.cameras),
                                    std::min(spec_.cameras_per_id.second, spec_.cameras));
    const auto cameras = pick_cameras(rng_, spec_.cameras, seen_by);
    std::int64_t time = uniform_int(rng_, 1000, 90000);
    int query_index = 0, gallery_index = 0, train_index = 0;
    for (std::size_t i = 0; i < cameras.size(); ++i) {
      time += uniform_int(rng_, 200, 3000);  // travel to the next camera
      if (first_subset == Subset::train) {
        const int count = uniform_int(rng_, spec_.train_per_camera.first, spec_.train_per_camera.second);
        for (int k = 0; k < count; ++k) add(Subset::train, pid, cameras[i], time, k, train_index++, person);
      } else if (i == 0) {
        add(Subset::query, pid, cameras[i], time, 0, query_index++, person);
      } else {
        const int count =
            uniform_int(rng_, spec_.gallery_per_camera.first, spec_.gallery_per_camera.second);
        for (int k = 0; k < count; ++k) add(Subset::gallery, pid, cameras[i], time, k, gallery_index++, person);
      }
    }
  }

  /// A one-off passer-by in the gallery.
  void distractor(std::int64_t pid) {
    const auto person = new_person();
    const int count = uniform_int(rng_, 1, 2);
    for (int k = 0; k < count; ++k)
      add(Subset::gallery, pid, uniform_int(rng_, 0, spec_.cameras - 1),
          uniform_int(rng_, 1000, 99000), k, k, person);
  }

  [[nodiscard]] const std::vector<Planned>& images() const { return images_; }
  [[nodiscard]] const std::vector<PersonAppearance>& people() const { return people_; }

 private:
  std::size_t new_person() {
    people_.push_back(random_person(rng_));
    return people_.size() - 1;
  }

  void add(Subset subset, std::int64_t pid, int camera, std::int64_t arrival, int step, int index,
           std::size_t person) {
    // a few frames apart, so that one id's sightings on one camera have distinct frames
    const std::int64_t frame = arrival + 8 * step + uniform_int(rng_, 0, 6);
    images_.push_back({.sighting = {.subset = subset, .pid = pid, .camera = camera, .frame = frame,
                                    .index = index, .path = {}},
                       .person = person,
                       .seed = derive_seed(seed_, images_.size())});
  }

  const ReleaseSpec& spec_;
  std::uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<Planned> images_;
  std::vector<PersonAppearance> people_;
};

}  // namespace

std::vector<std::int64_t> draw_ids(std::uint64_t seed, int count, std::int64_t lo, std::int64_t hi) {
  std::mt19937_64 rng(seed);
  std::set<std::int64_t> ids;
  while (static_cast<int>(ids.size()) < count)
    ids.insert(lo + static_cast<std::int64_t>(uniform(rng, 0.0, static_cast<double>(hi - lo + 1))));
  return {ids.begin(), ids.end()};
}

std::vector<Sighting> write_release(const std::filesystem::path& root, const ReleaseSpec& spec,
                                    const Naming& naming, std::uint64_t seed) {
  std::mt19937_64 style_rng(derive_seed(seed, ~std::uint64_t{0}));
  std::vector<CameraStyle> cameras;
  std::generate_n(std::back_inserter(cameras), spec.cameras,
                  [&] { return random_camera_style(style_rng); });

  Plan plan(spec, seed);
  for (const auto pid : spec.train_pids) plan.identity(Subset::train, pid);
  for (const auto pid : spec.test_pids) plan.identity(Subset::query, pid);
  for (const auto pid : spec.distractor_pids) plan.distractor(pid);

  std::vector<Sighting> sightings;
  std::set<std::filesystem::path> taken;
  for (const auto& image : plan.images()) {
    auto sighting = image.sighting;
    sighting.path = naming(sighting);
    if (!taken.insert(sighting.path).second)
      throw std::logic_error("synthetic release: two images named " + sighting.path.string());
    std::filesystem::create_directories((root / sighting.path).parent_path());
    sightings.push_back(std::move(sighting));
  }

  const std::vector<int> jpeg{cv::IMWRITE_JPEG_QUALITY, 90};
  const auto& images = plan.images();
  tbb::parallel_for(std::size_t{0}, images.size(), [&](std::size_t i) {
    std::mt19937_64 rng(images[i].seed);
    const auto& camera = cameras[static_cast<std::size_t>(images[i].sighting.camera)];
    const auto file = root / sightings[i].path;
    if (!cv::imwrite(file.string(),
                     render_person(plan.people()[images[i].person], camera, rng, spec.image_size),
                     jpeg))
      throw DataError(fmt::format("{}: cannot write the image", file.string()));
  });
  return sightings;
}

void write_synthetic_readme(const std::filesystem::path& file, std::string_view dataset,
                            std::uint64_t seed) {
  std::ofstream(file) << fmt::format(
      "A synthetic stand-in for {}, rendered by fgreid (seed {}).\n"
      "Same layout and file names as the release; the identities are drawn.\n",
      dataset, seed);
}

}  // namespace fgreid::datasets::synthetic
