// The market_image recipe as a user runs it: flags, errors, a tiny end-to-end run.
#include <fgreid/engine/flags.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "recipes/market_image.hpp"
#include "support.hpp"

#include <fstream>

using fgreid::test::last_line;
using fgreid::test::run_command;
using Recipe = fgreid::recipes::market_image::Recipe;

namespace {
const std::string kRecipe = std::string(FGREID_BINARY_DIR) + "/recipe_market_image";
const std::string kTiny =
    " --threads 2 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 1 --print-every 5"
    " --test-batch 64";
}  // namespace

TEST_CASE("every flag of a recipe has its one-line documentation") {
  Recipe::Config config;
  fgreid::cli::CommandLine cli("recipe", "");
  Recipe::add_flags(cli, config);
  REQUIRE(cli.flags().size() > 20);
  for (const auto& flag : cli.flags()) {
    INFO("--", flag.name, " in group ", flag.group);
    CHECK_FALSE(flag.doc.empty());
  }
}

TEST_CASE("bad flags and bad inputs give one clear line and a non-zero exit") {
  fgreid::test::TempDir dir;
  SUBCASE("unknown flag -> 2") {
    auto r = run_command(kRecipe + " --no-such-flag 1");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("no-such-flag") != std::string::npos);
  }
  SUBCASE("bad value -> 2") {
    auto r = run_command(kRecipe + " --lr fast");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--lr fast") != std::string::npos);
  }
  SUBCASE("missing config file -> 2") {
    auto r = run_command(kRecipe + " --config " + (dir / "missing.ini").string());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("missing.ini") != std::string::npos);
  }
  SUBCASE("missing dataset folder -> 1, naming the folder") {
    auto r = run_command(kRecipe + " --summary --data-root " + (dir / "nowhere").string());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("nowhere") != std::string::npos);
    CHECK(std::ranges::count(r.err, '\n') == 1);
  }
  SUBCASE("--help lists the groups -> 0") {
    auto r = run_command(kRecipe + " --help");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--thresold") != std::string::npos);
    CHECK(r.out.find("loss: triplet") != std::string::npos);
  }
}

TEST_CASE("a tiny end-to-end run trains, evaluates and writes its outputs" * doctest::timeout(900)) {
  fgreid::test::TempDir dir;
  const auto out = dir / "run";
  const auto features = dir / "features.pt";
  auto r = run_command(kRecipe + kTiny + " --output " + out.string() + " --extract " +
                       features.string());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto metrics = nlohmann::json::parse(last_line(r.out));
  for (auto key : {"rank1", "rank5", "rank10", "rank20", "mAP"}) {
    REQUIRE(metrics.contains(key));
    CHECK(metrics[key].get<double>() >= 0.0);
    CHECK(metrics[key].get<double>() <= 1.0);
  }
  CHECK(metrics["rank1"].get<double>() <= metrics["rank5"].get<double>());
  for (auto file : {"config.json", "log.jsonl", "metrics.json", "last.pt", "best.pt"})
    CHECK(std::filesystem::exists(out / file));
  CHECK(r.err.find("img/s") != std::string::npos);

  {  // --evaluate of the checkpoint reproduces the metrics
    auto again = run_command(kRecipe + kTiny + " --evaluate --weights " + (out / "last.pt").string() +
                             " --output " + (dir / "eval").string());
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    auto evaluated = nlohmann::json::parse(last_line(again.out));
    CHECK(evaluated["rank1"].get<double>() == doctest::Approx(metrics["rank1"].get<double>()));
    CHECK(evaluated["mAP"].get<double>() == doctest::Approx(metrics["mAP"].get<double>()));
  }
  {  // fgreid_eval on the extracted features gives the same metrics
    auto offline = run_command(std::string(FGREID_BINARY_DIR) + "/fgreid_eval --features " +
                               features.string());
    INFO(offline.err);
    REQUIRE(offline.exit_code == 0);
    auto evaluated = nlohmann::json::parse(last_line(offline.out));
    CHECK(evaluated["rank1"].get<double>() == doctest::Approx(metrics["rank1"].get<double>()));
    CHECK(evaluated["mAP"].get<double>() == doctest::Approx(metrics["mAP"].get<double>()));
  }
  {  // a truncated checkpoint is refused with its name
    const auto broken = dir / "broken.pt";
    {
      std::ifstream in(out / "last.pt", std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), {});
      std::ofstream(broken, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    auto bad = run_command(kRecipe + kTiny + " --evaluate --weights " + broken.string() +
                           " --output " + (dir / "eval2").string());
    CHECK(bad.exit_code == 1);
    CHECK(bad.err.find("broken.pt") != std::string::npos);
  }
}
