// The image recipes of CUHK01, CUHK03, GRID and VehicleID: each runs on its synthetic default to
// a metrics line, and shows its split (protocol flags and validation included) with --summary.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

#include <string>

using fgreid::test::last_line;
using fgreid::test::run_command;

namespace {
// The same tiny configuration as test_dataset_recipes.cpp's.
const std::string kTiny =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 1 --print-every 50"
    " --test-batch 64";

std::string recipe(const std::string& stem) {
  return std::string(FGREID_BINARY_DIR) + "/recipe_" + stem;
}

nlohmann::json summary(const std::string& stem, const std::string& flags) {
  const auto result = run_command(recipe(stem) + " --summary " + flags);
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(last_line(result.out));
}
}  // namespace

TEST_CASE("CUHK01, CUHK03, GRID and VehicleID recipes train one tiny epoch to a metrics line" *
          doctest::timeout(900)) {
  for (const auto* stem : {"cuhk01_image", "cuhk03_image", "grid_image", "vehicleid_image"}) {
    CAPTURE(stem);
    fgreid::test::TempDir dir;
    auto r = run_command(recipe(stem) + kTiny + " --output " + (dir / "run").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto metrics = nlohmann::json::parse(last_line(r.out));
    REQUIRE(metrics.contains("rank1"));
    CHECK(metrics["rank1"].get<double>() >= 0.0);
    CHECK(metrics["rank1"].get<double>() <= 1.0);
    CHECK(metrics["mAP"].get<double>() >= 0.0);
    CHECK(metrics["mAP"].get<double>() <= 1.0);
    // CUHK01 also reports the single-gallery-shot CMC by default; the others do not.
    CHECK(metrics.contains("single_shot") == (std::string(stem) == "cuhk01_image"));
  }
}

TEST_CASE("--summary shows each protocol's split, and the validation split when asked for") {
  const auto cuhk01 = summary("cuhk01_image", "--split-seed 3");
  CHECK(cuhk01["query"]["ids"] == 100);
  CHECK(cuhk01["split"]["split_seed"] == 3);
  CHECK(cuhk01["split"]["test_identities"].size() == 100);
  CHECK(cuhk01["split"]["test_identities"] != summary("cuhk01_image", "")["split"]["test_identities"]);
  const auto too_many = run_command(recipe("cuhk01_image") + " --summary --split 485");
  CHECK(too_many.exit_code == 2);  // the synthetic CUHK01 has 200 identities
  CHECK(last_line(too_many.err).find("--split 485") != std::string::npos);

  const auto classic = summary("cuhk03_image", "--cuhk03-classic --cuhk03-boxes labeled --split-index 19");
  CHECK(classic["split"]["protocol"] == "classic");
  CHECK(classic["split"]["boxes"] == "labeled");
  CHECK(classic["query"] == classic["gallery"]);  // torchreid's classic test set is both
  CHECK(summary("cuhk03_image", "")["train"]["ids"] == 32);

  CHECK(summary("grid_image", "--split-index 9")["split"]["split_index"] == 9);
  const auto bad_split = run_command(recipe("grid_image") + " --summary --split-index 10");
  CHECK(bad_split.exit_code == 2);

  const auto large = summary("vehicleid_image", "--test-size 2400 --gallery-seed 4");
  CHECK(large["gallery"]["images"] == 120);  // one image per test vehicle
  CHECK(large["split"]["test_list"] == "test_list_2400.txt");
  const auto held_vehicles = summary("vehicleid_image", "--validation 0.25");
  CHECK(held_vehicles["gallery"]["images"] == held_vehicles["query"]["ids"]);
  CHECK(held_vehicles["split"]["validation"]["held_out_ids"] == 30);

  for (const auto* stem : {"cuhk01_image", "cuhk03_image", "grid_image"}) {
    CAPTURE(stem);
    const auto split = summary(stem, "--validation 0.25 --validation-seed 4");
    const int train_ids = split["train"]["ids"].get<int>(), query_ids = split["query"]["ids"].get<int>();
    CHECK(split["split"]["validation"]["held_out_ids"] == query_ids);
    CHECK(query_ids == (train_ids + query_ids) / 4);  // floor(0.25 × all training ids)
    CHECK(split["gallery"]["ids"] == train_ids + query_ids);
  }
}
