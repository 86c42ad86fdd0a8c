// VehicleID's repeated gallery draws (--trials): draw t is the draw of --gallery-seed S + t.
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

namespace ds = fgreid::datasets;

namespace {
std::vector<std::string> names(const std::vector<ds::Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) out.push_back(entry.images.front().filename().string());
  return out;
}
}  // namespace

TEST_CASE("VehicleID --trials N adds the draws of the next N-1 gallery seeds") {
  fgreid::test::TempDir root;
  ds::write_synthetic_vehicleid(root.path());
  const auto splits = ds::VehicleID::load(root.path(), {.test_size = 800, .gallery_seed = 5, .trials = 3});
  REQUIRE(splits.trials.size() == 2);
  CHECK(splits.info["trials"] == 3);
  for (int t = 1; t < 3; ++t) {
    CAPTURE(t);
    const auto single = ds::VehicleID::load(root.path(), {.test_size = 800, .gallery_seed = 5 + t, .trials = 1});
    CHECK(single.trials.empty());
    CHECK(names(splits.trials[t - 1].query) == names(single.query));
    CHECK(names(splits.trials[t - 1].gallery) == names(single.gallery));
    // the same test images, another partition
    CHECK(splits.trials[t - 1].query.size() + splits.trials[t - 1].gallery.size() ==
          splits.query.size() + splits.gallery.size());
    CHECK(names(splits.trials[t - 1].gallery) != names(splits.gallery));
  }
  CHECK_THROWS_AS(ds::VehicleID::load(root.path(), {.test_size = 800, .gallery_seed = 1, .trials = 0}),
                  fgreid::UsageError);
}
