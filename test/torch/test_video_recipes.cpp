// The video recipes of MARS, iLIDS-VID, PRID-2011 and DukeMTMC-VideoReID: each runs on its
// synthetic default to a metrics line and shows its tracklet summary; and test-time features
// are the mean over every clip of a tracklet (worked out by hand on frames of known grey).
#include <fgreid/eval/features.hpp>
#include <fgreid/samplers/video_pk.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "dataset_support.hpp"

#include <string>

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

namespace {

namespace fs = std::filesystem;

const std::string kTiny =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --seq-len 2"
    " --max-test-clips 2 --max-epoch 1 --epoch-iterations 2 --print-every 50 --test-batch 64";

/// A network whose feature of a clip [B, T, 3, H, W] is [mean of its pixels, 1].
struct MeanModel : fgreid::models::ReidModuleImpl {
  fgreid::models::TrainOutput forward_train(const torch::Tensor&) override { return {}; }
  torch::Tensor forward(const torch::Tensor& clips) override {
    REQUIRE(clips.dim() == 5);
    cudnn_seen = {at::globalContext().benchmarkCuDNN(), at::globalContext().deterministicCuDNN()};
    return torch::stack({clips.mean({1, 2, 3, 4}), torch::ones({clips.size(0)})}, 1);
  }
  [[nodiscard]] std::int64_t feature_dim() const override { return 2; }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> trunks() override { return {}; }
  std::pair<bool, bool> cudnn_seen{true, false};  // {benchmark, deterministic} in the last forward
};

}  // namespace

TEST_CASE("each video recipe trains a tiny epoch on its synthetic data to a metrics line" *
          doctest::timeout(1200)) {
  for (const auto& [stem, queries] : {std::pair{"mars_video", 60}, std::pair{"ilidsvid_video", 40},
                                      std::pair{"prid_video", 40}, std::pair{"dukevideo_video", 60}}) {
    CAPTURE(stem);
    CHECK(train_to_metrics(stem, kTiny)["valid_queries"] == queries);  // one feature per query tracklet
  }
}

TEST_CASE("--summary counts tracklets and frames; --split-index and --validation choose the split") {
  const auto summary = recipe_summary("mars_video", "");
  CHECK(summary["train"]["ids"] == 60);
  CHECK(summary["query"]["tracklets"] == 60);
  CHECK(summary["gallery"]["ids"] == 61);
  CHECK(summary["train"]["frames"]["min"].get<int>() >= 2);
  CHECK(summary["split"]["junk_tracklets_dropped"] == 6);

  const auto split3_summary = recipe_summary("ilidsvid_video", "--split-index 3");
  CHECK(split3_summary["split"]["split_index"] == 3);
  CHECK(split3_summary["train"]["tracklets"] == 80);
  CHECK(recipe_summary("ilidsvid_video", "--split-index 4")["train"]["frames"] !=
        split3_summary["train"]["frames"]);
  const auto beyond = run_command(recipe("prid_video") + " --summary --split-index 10");
  CHECK(beyond.exit_code == 2);
  CHECK(last_line(beyond.err).find("--split-index 10") != std::string::npos);

  for (const auto* stem : {"mars_video", "ilidsvid_video", "prid_video", "dukevideo_video"}) {
    CAPTURE(stem);
    check_quarter_held_out(recipe_summary(stem, "--validation 0.25 --validation-seed 4"));
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

  const fgreid::samplers::ClipPlan plan = [](const fgreid::datasets::Entry& entry) {
    return fgreid::samplers::test_clips(entry.images.size(), 2, 41);
  };
  const auto expanded = fgreid::eval::expand_clips(tracklets, plan);
  REQUIRE(expanded.clips.size() == 4);  // [0 1] [2 3] [4 4] and [0 0]
  CHECK(expanded.tracklet == std::vector<std::int64_t>{0, 0, 0, 1});
  CHECK(expanded.clips[2].images == std::vector<fs::path>{dir / "a4.png", dir / "a4.png"});

  fgreid::engine::DataOptions data;
  data.height = 8;
  data.width = 4;
  data.workers = 1;
  data.test_batch = 3;  // a batch boundary inside tracklet 0's clips
  MeanModel model;
  const auto features = fgreid::eval::extract_features(model, tracklets, plan, data, {},
                                                               torch::Device(torch::kCPU), {});
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
  const auto flipped = fgreid::eval::extract_features(model, tracklets, plan, data, eval,
                                                              torch::Device(torch::kCPU), {});
  const double x = 2 * clip_means / 3, y = 2.0;  // flip adds the same feature again, then L2
  CHECK(flipped[0][0].item<double>() == doctest::Approx(x / std::sqrt(x * x + y * y)).epsilon(1e-5));

  // --normalize-clips (evaluate_videos.py's test_rerank2): each clip's feat + flipped feat is
  // L2-normalised, then the clips are averaged, with no L2 after.
  eval.normalize_features = false;
  eval.normalize_clips = true;
  const auto per_clip = fgreid::eval::extract_features(model, tracklets, plan, data, eval, torch::Device(torch::kCPU), {});
  const double means[3] = {(normalised(20) + normalised(40)) / 2, (normalised(60) + normalised(80)) / 2, normalised(100)};
  double first = 0, second = 0;
  for (const double m : means) first += m / std::sqrt(m * m + 1) / 3, second += 1 / std::sqrt(m * m + 1) / 3;
  CHECK(per_clip[0][0].item<double>() == doctest::Approx(first).epsilon(1e-5));
  CHECK(per_clip[0][1].item<double>() == doctest::Approx(second).epsilon(1e-5));
}

TEST_CASE("features are extracted with cuDNN's deterministic heuristics, and the run's settings come back after") {
  fgreid::test::TempDir dir;
  std::vector<fgreid::datasets::Entry> tracklets(1);
  REQUIRE(cv::imwrite((dir / "a.png").string(), cv::Mat(8, 4, CV_8UC3, cv::Scalar::all(90))));
  tracklets[0].images.push_back(dir / "a.png");
  const fgreid::samplers::ClipPlan plan = [](const fgreid::datasets::Entry& entry) {
    return fgreid::samplers::test_clips(entry.images.size(), 2, 41);
  };
  fgreid::engine::DataOptions data;
  data.height = 8;
  data.width = 4;
  data.workers = 1;
  // a training run's settings (--cudnn-benchmark, on by default); the guard is not device-specific,
  // so the CPU checks what a CUDA evaluation runs under
  at::globalContext().setBenchmarkCuDNN(true);
  at::globalContext().setDeterministicCuDNN(false);
  MeanModel model;
  (void)fgreid::eval::extract_features(model, tracklets, plan, data, {}, torch::Device(torch::kCPU), {});
  CHECK(model.cudnn_seen == std::pair{false, true});
  CHECK(at::globalContext().benchmarkCuDNN());
  CHECK_FALSE(at::globalContext().deterministicCuDNN());

  model.cudnn_seen = {true, false};
  (void)fgreid::eval::extract_feature_views(model, tracklets, plan, data, torch::Device(torch::kCPU), {});
  CHECK(model.cudnn_seen == std::pair{false, true});
  CHECK(at::globalContext().benchmarkCuDNN());
  at::globalContext().setBenchmarkCuDNN(false);
}
