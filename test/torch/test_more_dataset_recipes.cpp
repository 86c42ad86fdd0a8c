// The image recipes of CUHK01, CUHK03, GRID and VehicleID: each runs on its synthetic default to
// a metrics line, and shows its split (protocol flags and validation included) with --summary.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dataset_support.hpp"

#include <string>

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

TEST_CASE("CUHK01, CUHK03, GRID and VehicleID recipes train one tiny epoch to a metrics line" *
          doctest::timeout(900)) {
  for (const auto* stem : {"cuhk01_image", "cuhk03_image", "grid_image", "vehicleid_image"}) {
    CAPTURE(stem);
    const auto metrics = train_to_metrics(stem, kTinyImageRun);
    // CUHK01 also reports the single-gallery-shot CMC by default; the others do not.
    CHECK(metrics.contains("single_shot") == (std::string(stem) == "cuhk01_image"));
  }
}

TEST_CASE("--summary shows each protocol's split, and the validation split when asked for") {
  const auto cuhk01 = recipe_summary("cuhk01_image", "--split-seed 3");
  CHECK(cuhk01["query"]["ids"] == 100);
  CHECK(cuhk01["split"]["split_seed"] == 3);
  CHECK(cuhk01["split"]["test_identities"].size() == 100);
  CHECK(cuhk01["split"]["test_identities"] !=
        recipe_summary("cuhk01_image", "")["split"]["test_identities"]);
  const auto too_many = run_command(recipe("cuhk01_image") + " --summary --split 485");
  CHECK(too_many.exit_code == 2);  // the synthetic CUHK01 has 200 identities
  CHECK(last_line(too_many.err).find("--split 485") != std::string::npos);

  const auto classic =
      recipe_summary("cuhk03_image", "--cuhk03-classic --cuhk03-boxes labeled --split-index 19");
  CHECK(classic["split"]["protocol"] == "classic");
  CHECK(classic["split"]["boxes"] == "labeled");
  CHECK(classic["query"] == classic["gallery"]);  // torchreid's classic test set is both
  CHECK(recipe_summary("cuhk03_image", "")["train"]["ids"] == 32);

  CHECK(recipe_summary("grid_image", "--split-index 9")["split"]["split_index"] == 9);
  const auto bad_split = run_command(recipe("grid_image") + " --summary --split-index 10");
  CHECK(bad_split.exit_code == 2);

  const auto large = recipe_summary("vehicleid_image", "--test-size 2400 --gallery-seed 4");
  CHECK(large["gallery"]["images"] == 120);  // one image per test vehicle
  CHECK(large["split"]["test_list"] == "test_list_2400.txt");
  const auto held_vehicles = recipe_summary("vehicleid_image", "--validation 0.25");
  CHECK(held_vehicles["gallery"]["images"] == held_vehicles["query"]["ids"]);
  CHECK(held_vehicles["split"]["validation"]["held_out_ids"] == 30);

  for (const auto* stem : {"cuhk01_image", "cuhk03_image", "grid_image"}) {
    CAPTURE(stem);
    check_quarter_held_out(recipe_summary(stem, "--validation 0.25 --validation-seed 4"));
  }
}
