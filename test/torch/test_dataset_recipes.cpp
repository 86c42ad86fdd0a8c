// The image recipes of DukeMTMC-reID, MSMT17, VeRi-776 and VRIC: each runs on its synthetic
// default to a metrics line, and shows its split (validation included) with --summary.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dataset_support.hpp"

#include <string>

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

TEST_CASE("each dataset recipe trains one tiny epoch on its synthetic data to a metrics line" *
          doctest::timeout(900)) {
  for (const auto* stem : {"duke_image", "msmt17_image", "veri_image", "vric_image"}) {
    CAPTURE(stem);
    (void)train_to_metrics(stem, kTinyImageRun);
  }
}

TEST_CASE("--summary shows the synthetic split, and the validation split when asked for") {
  const auto summary = recipe_summary("msmt17_image", "");
  CHECK(summary["train"]["ids"] == 80);
  CHECK(summary["split"]["version"] == "MSMT17_V2");

  CHECK(recipe_summary("msmt17_image", "--msmt17-merge-val")["train"]["images"].get<int>() >
        summary["train"]["images"].get<int>());

  for (const auto* stem : {"duke_image", "veri_image", "vric_image", "market_image"}) {
    CAPTURE(stem);
    check_quarter_held_out(recipe_summary(stem, "--validation 0.25 --validation-seed 4"));
  }
  const auto bad = run_command(recipe("veri_image") + " --summary --validation 1.5");
  CHECK(bad.exit_code == 2);
  CHECK(last_line(bad.err).find("--validation 1.5") != std::string::npos);
}
