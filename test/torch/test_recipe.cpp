// The market_image recipe as a user runs it: flags, errors, a tiny end-to-end run.
#include <fgreid/cli/flags.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "recipes/market_image.hpp"
#include "support.hpp"

#include <algorithm>
#include <fstream>
#include <map>

using fgreid::test::last_line;
using fgreid::test::run_command;
using Recipe = fgreid::recipes::market_image::Recipe;

namespace {
const std::string kRecipe = std::string(FGREID_BINARY_DIR) + "/recipe_market_image";
const std::string kTiny =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 1 --print-every 5"
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
    CHECK(r.out.find("loss: OSM + class-aware attention") != std::string::npos);
    CHECK(r.out.find("--attention-min") != std::string::npos);
  }
}

TEST_CASE("a tiny end-to-end run trains, evaluates and writes its outputs" * doctest::timeout(900)) {
  fgreid::test::TempDir dir;
  const auto out = dir / "run";
  const auto features = dir / "features.pt";
  const auto exported = dir / "exported.pt";
  auto r = run_command(kRecipe + kTiny + " --output " + out.string() + " --extract " +
                       features.string() + " --export-weights " + exported.string());
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
  {  // re-ranking, st-ReID and the pictures from a recipe
    const auto eval_dir = dir / "eval-suite";
    auto suite = run_command(kRecipe + kTiny + " --evaluate --weights " + (out / "last.pt").string() +
                             " --rerank --st-reid --visualize-ranks 3 --visualize-attention 4"
                             " --plot-centers --output " + eval_dir.string());
    INFO(suite.err);
    REQUIRE(suite.exit_code == 0);
    auto evaluated = nlohmann::json::parse(last_line(suite.out));
    CHECK(evaluated["rank1"].get<double>() == doctest::Approx(metrics["rank1"].get<double>()));
    for (auto key : {"rerank", "st_reid", "st_reid_rerank"}) {
      CAPTURE(key);
      REQUIRE(evaluated.contains(key));
      CHECK(evaluated[key]["rank1"].get<double>() >= 0.0);
      CHECK(evaluated[key]["rank1"].get<double>() <= 1.0);
    }
    CHECK(std::filesystem::file_size(eval_dir / "cmc.png") > 1000);
    CHECK(std::filesystem::file_size(eval_dir / "ranks.png") > 1000);
    CHECK(std::filesystem::file_size(eval_dir / "attention_evaluate.png") > 1000);
    CHECK(std::filesystem::file_size(eval_dir / "embedding_evaluate.png") > 1000);
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
  {  // the exported state dict loads in Python under the seed's module names
    const auto script = dir / "read.py";
    std::ofstream(script) << "import sys, torch\n"
                             "d = torch.load(sys.argv[1], weights_only=True)\n"
                             "print(len(d), 'base.layer4.2.bn3.running_mean' in d, "
                             "'base_mars.conv1.weight' in d, tuple(d['classifier.weight'].shape))\n";
    auto python = run_command(std::string(FGREID_PYTHON) + " " + script.string() + " " +
                              exported.string());
    INFO(python.err);
    INFO(python.out);
    REQUIRE(python.exit_code == 0);
    CHECK(python.out.find(" True True (100, 1024)") != std::string::npos);
  }
  {  // --init-from takes a whole checkpoint, or only the tensors under a prefix
    auto whole = run_command(kRecipe + kTiny + " --print-model --init-from " +
                             (out / "last.pt").string());
    INFO(whole.err);
    CHECK(whole.exit_code == 0);
    CHECK(whole.err.find("initialised from") != std::string::npos);
    CHECK(whole.out.find("base_mars") != std::string::npos);
    auto second = run_command(kRecipe + kTiny + " --print-model --init-from " +
                              (out / "last.pt").string() + " --init-from-prefix base_mars.");
    CHECK(second.exit_code == 0);
    auto nothing = run_command(kRecipe + kTiny + " --print-model --init-from " +
                               (out / "last.pt").string() + " --init-from-prefix nowhere.");
    CHECK(nothing.exit_code == 1);
    CHECK(nothing.err.find("last.pt") != std::string::npos);
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

TEST_CASE("--pretrained loads torchvision weights into the trunk and refuses another network's") {
  fgreid::test::TempDir dir;
  const auto script = dir / "save.py";
  std::ofstream(script) << "import sys, torch, torchvision\n"
                           "torch.manual_seed(0)\n"
                           "torch.save(torchvision.models.resnet50().state_dict(), sys.argv[1])\n"
                           "torch.save(torchvision.models.resnet18().state_dict(), sys.argv[2])\n";
  const auto r50 = dir / "r50.pt", r18 = dir / "r18.pt";
  auto python = run_command(std::string(FGREID_PYTHON) + " " + script.string() + " " +
                            r50.string() + " " + r18.string());
  INFO(python.err);
  REQUIRE(python.exit_code == 0);
  const std::string baseline = std::string(FGREID_BINARY_DIR) + "/recipe_baseline" + kTiny;

  auto loaded = run_command(baseline + " --print-model --pretrained " + r50.string());
  INFO(loaded.err);
  CHECK(loaded.exit_code == 0);
  CHECK(loaded.err.find("r50.pt loaded into backbone") != std::string::npos);

  auto wrong = run_command(baseline + " --print-model --pretrained " + r18.string());
  CHECK(wrong.exit_code == 1);
  const auto error = last_line(wrong.err);  // after the synthetic-data notices
  CHECK(error.find("r18.pt") != std::string::npos);
  CHECK(error.find("layer1.0.conv1.weight") != std::string::npos);  // shapes differ

  auto second = run_command(baseline + " --print-model --pretrained-second " + r50.string());
  CHECK(second.exit_code == 2);  // the baseline has one trunk
  auto attention = run_command(baseline + " --visualize-attention 4");
  CHECK(attention.exit_code == 2);  // nor an attention map
  CHECK(last_line(attention.err).find("--visualize-attention") != std::string::npos);
}

TEST_CASE("recipes/fgreid.ini --opt dataset sets the seed's dataset_config.conf constants") {
  Recipe::Config config;
  fgreid::cli::CommandLine cli("recipe", "");
  Recipe::add_flags(cli, config);
  const std::string ini = std::string(FGREID_SOURCE_DIR) + "/recipes/fgreid.ini";
  std::vector<std::string> words = {"recipe", "--config", ini, "--opt", "dataset"};
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  REQUIRE(cli.parse(static_cast<int>(argv.size()), argv.data()));
  // seed-facts §3: tools/dataset_config.conf [dataset], and its optional keys' defaults
  const std::map<std::string, double> seed = {
      {"osm-alpha", 2.0708620427781153},   {"osm-sigma", 0.1985923780643122},
      {"osm-l", 0.483491099945938},         {"gamma", 0.4972545632405633},
      {"cosine-margin", 0.00020750171830713216}, {"beta-ratio", 0.14033231327559872},
      {"var-weight", 0.0006818137374953562}, {"lsr-weight", 1.0},
      {"lcn-weight", 1.0},                  {"weight-decay", 5e-4}};
  const auto resolved = cli.resolved();
  for (const auto& [flag, value] : seed) {
    CAPTURE(flag);
    CHECK(cli.was_set(flag));
    CHECK(std::stod(resolved[flag].get<std::string>()) == value);
  }
  CHECK(config.train.gamma == 0.4972545632405633);
}
