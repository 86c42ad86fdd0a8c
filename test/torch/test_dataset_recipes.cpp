// The image recipes of DukeMTMC-reID, MSMT17, VeRi-776 and VRIC: each runs on its synthetic
// default to a metrics line, and shows its split (validation included) with --summary.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

#include <string>

using fgreid::test::last_line;
using fgreid::test::run_command;

namespace {
const std::string kTiny =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 1 --print-every 50"
    " --test-batch 64";

std::string recipe(const std::string& stem) {
  return std::string(FGREID_BINARY_DIR) + "/recipe_" + stem;
}
}  // namespace

TEST_CASE("each dataset recipe trains one tiny epoch on its synthetic data to a metrics line" *
          doctest::timeout(900)) {
  for (const auto* stem : {"duke_image", "msmt17_image", "veri_image", "vric_image"}) {
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
  }
}

TEST_CASE("--summary shows the synthetic split, and the validation split when asked for") {
  const auto official = run_command(recipe("msmt17_image") + " --summary");
  INFO(official.err);
  REQUIRE(official.exit_code == 0);
  const auto summary = nlohmann::json::parse(last_line(official.out));
  CHECK(summary["train"]["ids"] == 80);
  CHECK(summary["split"]["version"] == "MSMT17_V2");

  const auto merged = run_command(recipe("msmt17_image") + " --summary --msmt17-merge-val");
  REQUIRE(merged.exit_code == 0);
  CHECK(nlohmann::json::parse(last_line(merged.out))["train"]["images"].get<int>() >
        summary["train"]["images"].get<int>());

  for (const auto* stem : {"duke_image", "veri_image", "vric_image", "market_image"}) {
    CAPTURE(stem);
    const auto held = run_command(recipe(stem) + " --summary --validation 0.25 --validation-seed 4");
    INFO(held.err);
    REQUIRE(held.exit_code == 0);
    const auto split = nlohmann::json::parse(last_line(held.out));
    const int train_ids = split["train"]["ids"].get<int>(), query_ids = split["query"]["ids"].get<int>();
    CHECK(split["split"]["validation"]["held_out_ids"] == query_ids);
    CHECK(query_ids == (train_ids + query_ids) / 4);  // floor(0.25 × all training ids)
    CHECK(split["gallery"]["ids"] == train_ids + query_ids);
  }
  const auto bad = run_command(recipe("veri_image") + " --summary --validation 1.5");
  CHECK(bad.exit_code == 2);
  CHECK(last_line(bad.err).find("--validation 1.5") != std::string::npos);
}
