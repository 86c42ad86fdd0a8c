// Evaluating many checkpoints and across datasets: --keep-every, --checkpoints (the seed's
// evaluate_image.py sweep), --evaluate --weights of another dataset's run, and average query
// expansion (fast-reid's TEST.AQE) against a numpy port of fast-reid's.
#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/checkpoint_sweep.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/query_expansion.hpp>
#include <fgreid/eval/suite.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reference.hpp"
#include "support.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using fgreid::test::last_line;
using fgreid::test::run_command;

namespace {

const std::string kBinary = std::string(FGREID_BINARY_DIR);
const std::string kTiny =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --print-every 5 --test-batch 64";

/// A stand-in network: a trunk and a classifier of `classes` identities.
struct TinyNet : torch::nn::Module {
  explicit TinyNet(std::int64_t classes)
      : trunk(register_module("trunk", torch::nn::Linear(4, 3))),
        classifier(register_module("classifier", torch::nn::Linear(3, classes))) {}
  torch::nn::Linear trunk, classifier;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("average query expansion is fast-reid's aqe, checked against its numpy code") {
  torch::manual_seed(3);
  const auto query = torch::randn({23, 8}), gallery = torch::randn({41, 8});
  fgreid::test::TempDir dir;
  const auto all = torch::cat({query, gallery}).contiguous();
  fgreid::test::write_binary(dir / "features.f32",
                             std::vector<float>(all.data_ptr<float>(), all.data_ptr<float>() + all.numel()));
  // fastreid/evaluation/query_expansion.py, in numpy (torch's mm and normalize as numpy).
  const std::string script = R"(
import json, sys
import numpy as np
feats = np.fromfile(sys.argv[1] + "/features.f32", dtype=np.float32).reshape(64, 8).astype(np.float64)
def normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
def aqe(all_feat, qe_times, qe_k, alpha):
    norm_feat = normalize(all_feat)
    for i in range(qe_times):
        all_feat_list = []
        sims = norm_feat @ norm_feat.T
        for sim in sims:
            init_rank = np.argpartition(-sim, range(1, qe_k + 1))
            weights = sim[init_rank[:qe_k]].reshape((-1, 1))
            weights = np.power(weights, alpha)
            all_feat_list.append(np.mean(all_feat[init_rank[:qe_k], :] * weights, axis=0))
        all_feat = np.stack(all_feat_list, axis=0)
        norm_feat = normalize(all_feat)
    return all_feat
print(json.dumps({f"{t} {k} {a}": aqe(feats, t, k, a).tolist()
                  for (t, k, a) in [(1, 5, 3.0), (2, 5, 3.0), (1, 1, 3.0), (1, 10, 1.0)]}))
)";
  const auto reference = fgreid::test::run_python_reference(script, dir);
  for (const auto& [times, k, alpha] : std::vector<std::tuple<int, int, double>>{{1, 5, 3.0}, {2, 5, 3.0}, {1, 1, 3.0}, {1, 10, 1.0}}) {
    const auto key = fmt::format("{} {} {:.1f}", times, k, alpha);
    CAPTURE(key);
    const auto [q, g] = fgreid::eval::expand_queries(query, gallery, {.k = k, .alpha = alpha, .times = times});
    const auto expected = reference[key].template get<std::vector<std::vector<double>>>();
    const auto ours = torch::cat({q, g});
    REQUIRE(ours.size(0) == static_cast<std::int64_t>(expected.size()));
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
      for (std::size_t d = 0; d < 8; ++d)
        worst = std::max(worst, std::abs(ours[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(d)].item<double>() - expected[i][d]));
    CHECK(worst < 1e-5);
  }
  CHECK_THROWS_WITH_AS((void)fgreid::eval::expand_queries(query, gallery, {.k = 65}), doctest::Contains("--aqe-k 65"),
                       std::invalid_argument);
}

TEST_CASE("--aqe-k composes with re-ranking: every run measures the expanded features") {
  torch::manual_seed(5);
  fgreid::eval::FeatureSet set;
  set.query_features = torch::randn({12, 6});
  set.gallery_features = torch::randn({40, 6});
  set.query_pids = torch::randint(0, 6, {12}, torch::kLong);
  set.gallery_pids = torch::randint(0, 6, {40}, torch::kLong);
  set.query_camids = torch::zeros({12}, torch::kLong);
  set.gallery_camids = torch::ones({40}, torch::kLong);
  fgreid::eval::SuiteOptions options;
  options.rerank = true;
  options.aqe_k = 4;
  options.aqe_alpha = 2.0;
  const fgreid::eval::RerankOptions rerank{.k1 = 6, .k2 = 3, .lambda = 0.3};
  const auto with_aqe = fgreid::eval::run_suite(set, fgreid::eval::Metric::euclidean, 10, options, rerank, {});
  auto expanded = set;
  std::tie(expanded.query_features, expanded.gallery_features) =
      fgreid::eval::expand_queries(set.query_features, set.gallery_features, {.k = 4, .alpha = 2.0});
  options.aqe_k = 0;
  const auto by_hand = fgreid::eval::run_suite(expanded, fgreid::eval::Metric::euclidean, 10, options, rerank, {});
  const auto plain = fgreid::eval::run_suite(set, fgreid::eval::Metric::euclidean, 10, options, rerank, {});
  for (const auto* key : {"mAP", "rank1"}) {
    CHECK(with_aqe.metrics[key].get<double>() == doctest::Approx(by_hand.metrics[key].get<double>()));
    CHECK(with_aqe.metrics["rerank"][key].get<double>() == doctest::Approx(by_hand.metrics["rerank"][key].get<double>()));
  }
  CHECK(with_aqe.metrics["mAP"].get<double>() != plain.metrics["mAP"].get<double>());
  CHECK(with_aqe.metrics["aqe"]["k"] == 4);
}

TEST_CASE("a checkpoint of another dataset's run is evaluated without its classifier") {
  fgreid::test::TempDir dir;
  TinyNet market(5), duke(7);
  fgreid::engine::save_checkpoint(dir / "market.pt", market, {{"model", "tiny"}, {"recipe", "market"}});
  const auto meta = fgreid::engine::load_for_evaluation(dir / "market.pt", duke, "tiny");
  CHECK(torch::equal(duke.trunk->weight, market.trunk->weight));
  CHECK_FALSE(torch::equal(duke.classifier->weight.narrow(0, 0, 5), market.classifier->weight));
  REQUIRE(meta["skipped"].size() == 2);
  CHECK(meta["skipped"][0].get<std::string>().starts_with("classifier."));
  // Training and --resume still need the whole model to fit.
  CHECK_THROWS_AS(fgreid::engine::load_checkpoint(dir / "market.pt", duke, "tiny"), fgreid::DataError);
  // A trunk that does not fit is no other dataset's: an error naming it.
  struct OtherTrunk : torch::nn::Module {
    OtherTrunk() { register_module("trunk", torch::nn::Linear(5, 3)); register_module("classifier", torch::nn::Linear(3, 5)); }
  } other;
  CHECK_THROWS_WITH_AS(fgreid::engine::load_for_evaluation(dir / "market.pt", other, "tiny"),
                       doctest::Contains("trunk.weight"), fgreid::DataError);
}

TEST_CASE("checkpoint folders are swept in epoch order and tabled") {
  fgreid::test::TempDir dir;
  for (const auto* name : {"epoch_10.pt", "best.pt", "epoch_2.pt", "last.pt", "notes.txt"})
    std::ofstream(dir / name) << "x";
  std::vector<std::string> names;
  for (const auto& file : fgreid::engine::checkpoint_files(dir.path())) names.push_back(file.filename().string());
  CHECK(names == std::vector<std::string>{"epoch_2.pt", "epoch_10.pt", "best.pt", "last.pt"});
  CHECK_THROWS_WITH_AS(fgreid::engine::checkpoint_files(dir / "nowhere"), doctest::Contains("nowhere"),
                       fgreid::DataError);
  const nlohmann::json metrics = {{"rank1", 0.5}, {"rank5", 0.7}, {"rank10", 0.8}, {"mAP", 0.4}, {"mINP", 0.1},
                                  {"rerank", {{"rank1", 0.6}, {"rank5", 0.75}, {"rank10", 0.9}, {"mAP", 0.55}, {"mINP", 0.2}}}};
  const auto rows = fgreid::engine::sweep_rows(
      metrics, {.checkpoint = "epoch_2.pt", .epoch = 2, .features = "raw", .metric = "cosine"});
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].run == "rerank");
  CHECK(rows[1].mAP == 0.55);
  CHECK(lines_of(fgreid::engine::sweep_csv(rows))[2] == "epoch_2.pt,2,raw,cosine,rerank,0.600000,0.750000,0.900000,0.550000,0.200000");
}

TEST_CASE("--keep-every, --checkpoints and cross-dataset --evaluate on a tiny run" * doctest::timeout(1800)) {
  fgreid::test::TempDir dir;
  const auto run = dir / "market";
  const auto market = kBinary + "/recipe_market_image" + kTiny;
  // Three iterations an epoch: the sweep needs checkpoints, not a trained model.
  auto trained = run_command(market + " --max-epoch 2 --epoch-iterations 3 --eval-start 0 --eval-every 1 --keep-every 1 --output " +
                             run.string());
  INFO(trained.err);
  REQUIRE(trained.exit_code == 0);
  CHECK(std::filesystem::exists(run / "epoch_1.pt"));
  CHECK(std::filesystem::exists(run / "epoch_2.pt"));

  auto swept = run_command(market + " --checkpoints " + run.string());
  INFO(swept.err);
  REQUIRE(swept.exit_code == 0);
  // 4 checkpoints × 2 feature views × (euclidean: plain, rerank; cosine: + st, st+rerank)
  const auto table = lines_of(swept.out);
  CHECK(table.size() == 1 + 4 * 2 * 6);
  std::ifstream csv_file(run / "checkpoints.csv");
  std::stringstream csv;
  csv << csv_file.rdbuf();
  const auto rows = lines_of(csv.str());
  CHECK(rows.size() == table.size());
  CHECK(std::filesystem::file_size(run / "checkpoints.png") > 1000);

  // The sweep's flip+L2 Euclidean row of last.pt is what the recipe's own evaluation gives
  // (market_image tests flip + L2 features with squared Euclidean distances).
  auto evaluated = run_command(market + " --evaluate --weights " + (run / "last.pt").string() + " --output " +
                               (dir / "eval").string());
  REQUIRE(evaluated.exit_code == 0);
  const auto metrics = nlohmann::json::parse(last_line(evaluated.out));
  const auto row = std::ranges::find_if(rows, [](const std::string& line) {
    return line.starts_with("last.pt,") && line.find(",flip+L2,euclidean,plain,") != std::string::npos;
  });
  REQUIRE(row != rows.end());
  CHECK(*row == fmt::format("last.pt,2,flip+L2,euclidean,plain,{:.6f},{:.6f},{:.6f},{:.6f},{:.6f}",
                            metrics["rank1"].get<double>(), metrics["rank5"].get<double>(),
                            metrics["rank10"].get<double>(), metrics["mAP"].get<double>(),
                            metrics["mINP"].get<double>()));

  // Market-1501 → DukeMTMC-reID: the classifier (another identity count) is left out, said so.
  auto across = run_command(kBinary + "/recipe_duke_image" + kTiny + " --evaluate --weights " +
                            (run / "last.pt").string() + " --output " + (dir / "duke").string());
  INFO(across.err);
  REQUIRE(across.exit_code == 0);
  CHECK(across.err.find("left out: classifier.weight") != std::string::npos);
  const auto duke = nlohmann::json::parse(last_line(across.out));
  CHECK(duke["recipe"] == "duke_image");
  CHECK(duke["rank1"].get<double>() >= 0.0);
}
