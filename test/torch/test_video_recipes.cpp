// The video recipes of MARS, iLIDS-VID, PRID-2011 and DukeMTMC-VideoReID: each runs on its
// synthetic default to a metrics line and shows its tracklet summary; and test-time features
// are the mean over every clip of a tracklet (worked out by hand on frames of known grey).
#include <fgreid/engine/video_features.hpp>
#include <fgreid/samplers/video_pk.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support.hpp"

#include <string>

using fgreid::test::last_line;
using fgreid::test::run_command;

namespace {

namespace fs = std::filesystem;

const std::string kTiny =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --seq-len 2"
    " --max-test-clips 2 --max-epoch 1 --epoch-iterations 2 --print-every 50 --test-batch 64";

std::string recipe(const std::string& stem) {
  return std::string(FGREID_BINARY_DIR) + "/recipe_" + stem;
}

/// A network whose feature of a clip [B, T, 3, H, W] is [mean of its pixels, 1].
struct MeanModel : fgreid::models::ReidModuleImpl {
  fgreid::models::TrainOutput forward_train(const torch::Tensor&) override { return {}; }
  torch::Tensor forward(const torch::Tensor& clips) override {
    REQUIRE(clips.dim() == 5);
    return torch::stack({clips.mean({1, 2, 3, 4}), torch::ones({clips.size(0)})}, 1);
  }
  [[nodiscard]] std::int64_t feature_dim() const override { return 2; }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> trunks() override { return {}; }
};

}  // namespace

TEST_CASE("each video recipe trains a tiny epoch on its synthetic data to a metrics line" *
          doctest::timeout(1200)) {
  for (const auto& [stem, queries] : {std::pair{"mars_video", 60}, std::pair{"ilidsvid_video", 40},
                                      std::pair{"prid_video", 40}, std::pair{"dukevideo_video", 60}}) {
    CAPTURE(stem);
    fgreid::test::TempDir dir;
    auto r = run_command(recipe(stem) + kTiny + " --output " + (dir / "run").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto metrics = nlohmann::json::parse(last_line(r.out));
    REQUIRE(metrics.contains("rank1"));
    CHECK(metrics["valid_queries"] == queries);  // one feature per query tracklet
    CHECK(metrics["rank1"].get<double>() >= 0.0);
    CHECK(metrics["rank1"].get<double>() <= 1.0);
    CHECK(metrics["mAP"].get<double>() >= 0.0);
    CHECK(metrics["mAP"].get<double>() <= 1.0);
  }
}

TEST_CASE("--summary counts tracklets and frames; --split-index and --validation choose the split") {
  const auto mars = run_command(recipe("mars_video") + " --summary");
  INFO(mars.err);
  REQUIRE(mars.exit_code == 0);
  const auto summary = nlohmann::json::parse(last_line(mars.out));
  CHECK(summary["train"]["ids"] == 60);
  CHECK(summary["query"]["tracklets"] == 60);
  CHECK(summary["gallery"]["ids"] == 61);
  CHECK(summary["train"]["frames"]["min"].get<int>() >= 2);
  CHECK(summary["split"]["junk_tracklets_dropped"] == 6);

  const auto split3 = run_command(recipe("ilidsvid_video") + " --summary --split-index 3");
  REQUIRE(split3.exit_code == 0);
  const auto split3_summary = nlohmann::json::parse(last_line(split3.out));
  CHECK(split3_summary["split"]["split_index"] == 3);
  CHECK(split3_summary["train"]["tracklets"] == 80);
  const auto split4 = run_command(recipe("ilidsvid_video") + " --summary --split-index 4");
  REQUIRE(split4.exit_code == 0);
  CHECK(nlohmann::json::parse(last_line(split4.out))["train"]["frames"] != split3_summary["train"]["frames"]);
  const auto beyond = run_command(recipe("prid_video") + " --summary --split-index 10");
  CHECK(beyond.exit_code == 2);
  CHECK(last_line(beyond.err).find("--split-index 10") != std::string::npos);

  for (const auto* stem : {"mars_video", "ilidsvid_video", "prid_video", "dukevideo_video"}) {
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
}

TEST_CASE("a tracklet's test feature is the mean of its clips' features, in order") {
  fgreid::test::TempDir dir;
  // tracklet 0: five frames of grey 20, 40, ..., 100; tracklet 1: one frame of grey 200
  std::vector<fgreid::datasets::Entry> tracklets(2);
  for (int f = 0; f < 5; ++f) {
    const auto path = dir / fmt::format("a{}.png", f);
    REQUIRE(cv::imwrite(path.string(), cv::Mat(8, 4, CV_8UC3, cv::Scalar::all(20 + 20 * f))));
    tracklets[0].images.push_back(path);
  }
  REQUIRE(cv::imwrite((dir / "b.png").string(), cv::Mat(8, 4, CV_8UC3, cv::Scalar::all(200))));
  tracklets[1].images.push_back(dir / "b.png");

  const fgreid::engine::ClipPlan plan = [](const fgreid::datasets::Entry& entry) {
    return fgreid::samplers::test_clips(entry.images.size(), 2, 41);
  };
  const auto expanded = fgreid::engine::expand_clips(tracklets, plan);
  REQUIRE(expanded.clips.size() == 4);  // [0 1] [2 3] [4 4] and [0 0]
  CHECK(expanded.tracklet == std::vector<std::int64_t>{0, 0, 0, 1});
  CHECK(expanded.clips[2].images == std::vector<fs::path>{dir / "a4.png", dir / "a4.png"});

  fgreid::engine::DataOptions data;
  data.height = 8;
  data.width = 4;
  data.workers = 1;
  data.test_batch = 3;  // a batch boundary inside tracklet 0's clips
  MeanModel model;
  const auto features = fgreid::engine::extract_video_features(model, tracklets, plan, data, {},
                                                               torch::Device(torch::kCPU));
  // the normalised value of grey g: mean over channels of (g / 255 − mean_c) / std_c
  const auto normalised = [](double grey) {
    const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
    double sum = 0;
    for (int c = 0; c < 3; ++c) sum += (grey / 255.0 - mean[c]) / std[c];
    return sum / 3;
  };
  const double clip_means = (normalised(20) + normalised(40)) / 2 + (normalised(60) + normalised(80)) / 2 +
                            normalised(100);
  REQUIRE(features.sizes() == torch::IntArrayRef{2, 2});
  CHECK(features[0][0].item<double>() == doctest::Approx(clip_means / 3).epsilon(1e-5));
  CHECK(features[1][0].item<double>() == doctest::Approx(normalised(200)).epsilon(1e-5));
  CHECK(features[0][1].item<double>() == doctest::Approx(1.0));

  fgreid::engine::EvalOptions eval;
  eval.flip_test = true;
  eval.normalize_features = true;
  const auto flipped = fgreid::engine::extract_video_features(model, tracklets, plan, data, eval,
                                                              torch::Device(torch::kCPU));
  const double x = 2 * clip_means / 3, y = 2.0;  // flip adds the same feature again, then L2
  CHECK(flipped[0][0].item<double>() == doctest::Approx(x / std::sqrt(x * x + y * y)).epsilon(1e-5));
}
