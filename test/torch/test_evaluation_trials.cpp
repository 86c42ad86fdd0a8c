// VehicleID's protocol end to end: a run's metrics with --trials 3 are the mean of its
// checkpoint's metrics on the three gallery draws evaluated one by one.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

#include <cmath>

using fgreid::test::last_line;
using fgreid::test::run_command;

TEST_CASE("--trials averages the metrics of the gallery draws, with their spread") {
  fgreid::test::TempDir dir;
  const std::string recipe = std::string(FGREID_BINARY_DIR) + "/recipe_vehicleid_image";
  const std::string tiny =
      " --device cpu --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2"
      " --max-epoch 1 --epoch-iterations 4 --print-every 50 --test-batch 64";
  const auto trained = run_command(recipe + tiny + " --trials 3 --gallery-seed 4 --output " +
                                   (dir / "run").string());
  REQUIRE_MESSAGE(trained.exit_code == 0, trained.err);
  const auto averaged = nlohmann::json::parse(last_line(trained.out));
  CHECK(averaged["trials"] == 3);

  std::vector<nlohmann::json> draws;
  for (int seed = 4; seed < 7; ++seed) {
    const auto one = run_command(recipe + tiny + " --evaluate --weights " +
                                 (dir / "run" / "last.pt").string() + " --trials 1 --gallery-seed " +
                                 std::to_string(seed) + " --output " +
                                 (dir / ("eval" + std::to_string(seed))).string());
    REQUIRE_MESSAGE(one.exit_code == 0, one.err);
    draws.push_back(nlohmann::json::parse(last_line(one.out)));
    CHECK_FALSE(draws.back().contains("trials"));
  }
  for (const char* key : {"rank1", "rank5", "mAP", "mINP"}) {
    CAPTURE(key);
    double mean = 0;
    for (const auto& draw : draws) mean += draw[key].get<double>() / 3;
    double squares = 0;
    for (const auto& draw : draws) squares += std::pow(draw[key].get<double>() - mean, 2);
    CHECK(averaged[key].get<double>() == doctest::Approx(mean).epsilon(1e-6));
    CHECK(averaged[std::string(key) + "_std"].get<double>() ==
          doctest::Approx(std::sqrt(squares / 2)).epsilon(1e-6));
  }
  // the draws differ, so the average is not one of them
  CHECK(draws[0]["mAP"] != draws[1]["mAP"]);
}
