// The training engine's contract: schedules and optimizers, mixed precision's scaler, the
// progress display, --plot, and runs that stop (Ctrl-C) and resume bit-exactly.
#include <fgreid/detail/pickle.hpp>
#include <fgreid/engine/curves.hpp>
#include <fgreid/engine/optim.hpp>
#include <fgreid/engine/progress.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <sstream>

using fgreid::test::last_line;
using fgreid::test::run_command;
namespace engine = fgreid::engine;

namespace {
const std::string kBaseline = std::string(FGREID_BINARY_DIR) + "/recipe_baseline";
const std::string kMarket = std::string(FGREID_BINARY_DIR) + "/recipe_market_image";
// Two epochs of six iterations each, evaluated only at the end; on the CPU, where kernels are
// deterministic (on a GPU, --device auto would pick CUDA).
const std::string kTiny =
    " --device cpu --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 2"
    " --epoch-iterations 6 --eval-start 1 --print-every 1 --test-batch 64 --warmup-epochs 1"
    " --milestones 1";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST_CASE("learning-rate schedules: the seed's warm-up and steps, and cosine") {
  engine::TrainOptions seed;
  seed.warmup_epochs = 10;
  seed.warmup_factor = 0.01;
  seed.milestones = {40, 70};
  seed.gamma = 0.4972545632405633;
  // seed-facts §3: 0.01(1 - e/10) + e/10 for e < 10, then γ^{#milestones ≤ e}.
  for (int e : {0, 3, 9}) CHECK(engine::lr_factor(seed, e) == doctest::Approx(0.01 * (1 - e / 10.0) + e / 10.0));
  CHECK(engine::lr_factor(seed, 10) == 1.0);
  CHECK(engine::lr_factor(seed, 39) == 1.0);
  CHECK(engine::lr_factor(seed, 40) == doctest::Approx(seed.gamma));
  CHECK(engine::lr_factor(seed, 499) == doctest::Approx(seed.gamma * seed.gamma));

  engine::TrainOptions cosine = seed;
  cosine.schedule = engine::ScheduleKind::cosine;
  cosine.max_epoch = 110;
  CHECK(engine::lr_factor(cosine, 5) == engine::lr_factor(seed, 5));  // warm-up unchanged
  CHECK(engine::lr_factor(cosine, 10) == doctest::Approx(1.0));
  CHECK(engine::lr_factor(cosine, 60) == doctest::Approx(0.5));
  CHECK(engine::lr_factor(cosine, 35) == doctest::Approx(0.5 * (1 + std::cos(std::numbers::pi / 4))));
  CHECK(engine::lr_factor(cosine, 110) == doctest::Approx(0.0).epsilon(1e-12));
}

TEST_CASE("optimizers: Adam or SGD, biases and BatchNorm out of weight decay on request") {
  torch::nn::Sequential net(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3),
                            torch::nn::Linear(torch::nn::LinearOptions(3, 2).bias(false)));
  engine::TrainOptions train;
  train.weight_decay = 5e-4;
  engine::ModelOptimizer adam(*net, train);
  REQUIRE(adam.torch_optimizer().param_groups().size() == 1);
  CHECK(adam.torch_optimizer().param_groups()[0].params().size() == 5);
  CHECK(adam.kind() == engine::OptimizerKind::adam);

  train.decay_bias_bn = false;
  train.optimizer = engine::OptimizerKind::sgd;
  train.momentum = 0.8;
  train.nesterov = true;
  engine::ModelOptimizer sgd(*net, train);
  const auto& groups = sgd.torch_optimizer().param_groups();
  REQUIRE(groups.size() == 2);
  // decayed: the two Linear weights; exempt: the first Linear's bias and BatchNorm's weight and bias
  CHECK(groups[0].params().size() == 2);
  CHECK(groups[1].params().size() == 3);
  const auto& decayed = static_cast<const torch::optim::SGDOptions&>(groups[0].options());
  const auto& exempt = static_cast<const torch::optim::SGDOptions&>(groups[1].options());
  CHECK(decayed.weight_decay() == 5e-4);
  CHECK(exempt.weight_decay() == 0.0);
  CHECK(exempt.momentum() == 0.8);
  CHECK(exempt.nesterov());
  sgd.set_learning_rate(0.25);
  for (const auto& group : groups) CHECK(group.options().get_lr() == 0.25);
}

namespace {
/// LibTorch's own Adam or SGD against fgreid's fused ModelOptimizer on the same little network,
/// the learning rate changed midway, the fused run also saved and loaded into a third.
void check_fused_against_libtorch(const engine::TrainOptions& train, torch::optim::Optimizer& reference_optimizer,
                                  torch::nn::Sequential& reference) {
  auto make = [] {
    torch::manual_seed(3);
    // (No BatchNorm after a bias: that bias's gradient is rounding noise, which Adam's
    // normalisation would turn into steps of full size either way.)
    return torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::Tanh(), torch::nn::Linear(5, 3));
  };
  auto fused = make(), resumed = make();
  engine::ModelOptimizer fused_optimizer(*fused, train);
  torch::manual_seed(9);
  const auto x = torch::randn({16, 6});
  auto loss_of = [&](torch::nn::Sequential& net) { return net->forward(x).pow(2).mean(); };
  auto train_reference = [&] {
    reference_optimizer.zero_grad();
    loss_of(reference).backward();
    reference_optimizer.step();
  };
  auto train_fused = [&](torch::nn::Sequential& net, engine::ModelOptimizer& optimizer) {
    optimizer.zero_grad();
    loss_of(net).backward();
    optimizer.step();
  };
  for (int i = 0; i < 3; ++i) {
    train_reference();
    train_fused(fused, fused_optimizer);
  }
  const double lower = train.lr * 0.1;
  for (auto& group : reference_optimizer.param_groups()) group.options().set_lr(lower);
  fused_optimizer.set_learning_rate(lower);
  {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < fused->parameters().size(); ++i)
      resumed->parameters()[i].copy_(fused->parameters()[i]);
  }
  engine::ModelOptimizer resumed_optimizer(*resumed, train);
  resumed_optimizer.set_learning_rate(lower);
  {
    torch::serialize::OutputArchive out;
    fused_optimizer.sync_state();
    fused_optimizer.torch_optimizer().save(out);
    std::stringstream bytes;
    out.save_to(bytes);
    torch::serialize::InputArchive in;
    in.load_from(bytes);
    resumed_optimizer.torch_optimizer().load(in);
    resumed_optimizer.forget_device_state();
  }
  for (int i = 0; i < 4; ++i) {
    train_reference();
    train_fused(fused, fused_optimizer);
    train_fused(resumed, resumed_optimizer);
  }
  for (std::size_t i = 0; i < reference->parameters().size(); ++i) {
    INFO("parameter ", i);
    CHECK(torch::allclose(fused->parameters()[i], reference->parameters()[i], 1e-5, 1e-7));
    CHECK(torch::equal(resumed->parameters()[i], fused->parameters()[i]));
  }
}
}  // namespace

TEST_CASE("the fused Adam step equals LibTorch's Adam, across a learning-rate change, a save and a load") {
  torch::manual_seed(3);
  auto reference = torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::Tanh(), torch::nn::Linear(5, 3));
  engine::TrainOptions train;
  train.lr = 0.01;
  train.weight_decay = 5e-4;
  torch::optim::Adam adam(reference->parameters(), torch::optim::AdamOptions(train.lr).weight_decay(train.weight_decay));
  check_fused_against_libtorch(train, adam, reference);
}

TEST_CASE("the fused SGD step (momentum, Nesterov, weight decay) equals LibTorch's SGD") {
  for (const bool nesterov : {false, true}) {
    CAPTURE(nesterov);
    torch::manual_seed(3);
    auto reference = torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::Tanh(), torch::nn::Linear(5, 3));
    engine::TrainOptions train;
    train.optimizer = engine::OptimizerKind::sgd;
    train.lr = 0.05;
    train.weight_decay = 5e-4;
    train.momentum = 0.9;
    train.nesterov = nesterov;
    torch::optim::SGD sgd(reference->parameters(), torch::optim::SGDOptions(train.lr)
                                                       .momentum(train.momentum)
                                                       .nesterov(nesterov)
                                                       .weight_decay(train.weight_decay));
    check_fused_against_libtorch(train, sgd, reference);
  }
}

TEST_CASE("a skipped step leaves the parameters, the moments and the step count as they were") {
  for (const auto kind : {engine::OptimizerKind::adam, engine::OptimizerKind::sgd}) {
    INFO("sgd ", kind == engine::OptimizerKind::sgd);
    torch::manual_seed(5);
    torch::nn::Linear skipped(4, 2), plain(4, 2);
    {
      torch::NoGradGuard no_grad;
      plain->weight.copy_(skipped->weight);
      plain->bias.copy_(skipped->bias);
    }
    engine::TrainOptions train;
    train.optimizer = kind;
    train.lr = 0.01;
    engine::ModelOptimizer skipping(*skipped, train), reference(*plain, train);
    const auto x = torch::randn({8, 4});
    auto step = [&](torch::nn::Linear& net, engine::ModelOptimizer& optimizer, float skip) {
      optimizer.zero_grad();
      net->forward(x).pow(2).mean().backward();
      optimizer.step(torch::full({1}, skip));
    };
    step(skipped, skipping, 0);
    step(plain, reference, 0);
    const auto before = skipped->weight.clone();
    step(skipped, skipping, 1);  // as the fp16 scaler's found-inf flag says
    CHECK(torch::equal(skipped->weight, before));
    for (int i = 0; i < 2; ++i) {
      step(skipped, skipping, 0);
      step(plain, reference, 0);
    }
    CHECK(torch::allclose(skipped->weight, plain->weight, 1e-6, 1e-8));
    CHECK(torch::allclose(skipped->bias, plain->bias, 1e-6, 1e-8));
    if (kind == engine::OptimizerKind::adam) {
      skipping.sync_state();
      const auto& state = static_cast<const torch::optim::AdamParamState&>(
          *skipping.torch_optimizer().state().at(skipped->weight.unsafeGetTensorImpl()));
      CHECK(state.step() == 3);
    }
  }
}

TEST_CASE("fp16's gradient scaler unscales, skips non-finite steps and adapts its scale") {
  engine::GradScaler scaler(true, torch::kCPU);
  auto weight = torch::ones({3}, torch::requires_grad());
  scaler.scale((weight * 2).sum()).backward();
  CHECK(weight.grad()[0].item<float>() == 65536.0F * 2);
  scaler.unscale({weight});
  CHECK(scaler.skip().item<float>() == 0.0F);
  CHECK(torch::allclose(weight.grad(), torch::full({3}, 2.0)));
  scaler.update();
  CHECK(scaler.state()[0].second.item<float>() == 65536.0F);

  weight.mutable_grad() = torch::tensor({1.0F, INFINITY, 0.0F});
  scaler.unscale({weight});
  CHECK(scaler.skip().item<float>() != 0.0F);
  scaler.update();
  CHECK(scaler.state()[0].second.item<float>() == 32768.0F);  // backed off by half

  for (int i = 0; i < 2000; ++i) {
    weight.mutable_grad() = torch::ones({3});
    scaler.unscale({weight});
    scaler.update();
  }
  CHECK(scaler.skip().item<float>() == 0.0F);
  CHECK(scaler.state()[0].second.item<float>() == 65536.0F);  // grown after 2000 clean steps

  engine::GradScaler off(false, torch::kCPU);
  const auto loss = torch::tensor(3.0F);
  CHECK(off.scale(loss).item<float>() == 3.0F);
  CHECK(off.state().empty());
}

TEST_CASE("autocast scope: lower precision inside, the previous state after") {
  const auto a = torch::randn({8, 8}), b = torch::randn({8, 8});
  {
    engine::AutocastScope scope(torch::kCPU, engine::AmpMode::bf16);
    CHECK((torch::mm(a, b).scalar_type() == torch::kBFloat16));
  }
  CHECK((torch::mm(a, b).scalar_type() == torch::kFloat));
  engine::AutocastScope off(torch::kCPU, engine::AmpMode::off);
  CHECK((torch::mm(a, b).scalar_type() == torch::kFloat));
}

TEST_CASE("progress: plain lines every --print-every iterations and at the epoch's end") {
  engine::Progress plain(false, 5);
  std::vector<std::int64_t> shown;
  for (std::int64_t step = 1; step <= 12; ++step)
    if (plain.due(step, 12)) shown.push_back(step);
  CHECK(shown == std::vector<std::int64_t>{5, 10, 12});
  engine::ProgressState state{.epoch = 2, .epochs = 30, .step = 7, .steps = 12, .loss = 1.25,
                              .terms = {{"ce", 1.0}, {"triplet", 0.25}}, .lr = 3.5e-4,
                              .images_per_s = 120.5, .data_wait = 0.04, .eta_seconds = 3725};
  CHECK(engine::Progress::describe(state) ==
        "epoch 2/30 iter 7/12 loss 1.2500 ce 1.0000 triplet 0.2500 lr 3.50e-04 120.5 img/s "
        "data-wait 4% ETA 1:02:05");
}

TEST_CASE("--plot draws loss, learning rate and metrics from the log, skipping a torn line") {
  fgreid::test::TempDir dir;
  {
    std::ofstream log(dir / "log.jsonl");
    for (int i = 1; i <= 20; ++i)
      log << nlohmann::json{{"epoch", 1 + i / 10}, {"global_iteration", i}, {"loss", 5.0 / i},
                            {"ce", 4.0 / i}, {"lr", 1e-4 * i}}.dump() << "\n";
    log << nlohmann::json{{"evaluation", {{"epoch", 2}, {"rank1", 0.5}, {"mAP", 0.3}}}}.dump() << "\n";
    log << "{\"epoch\": 3, \"glob";  // cut short by a crash
  }
  engine::write_training_curves(dir / "log.jsonl", dir / "curves.png");
  const cv::Mat image = cv::imread((dir / "curves.png").string());
  REQUIRE_FALSE(image.empty());
  CHECK(image.cols == 900);
  CHECK(image.rows == 960);
  // Each panel has ink of the first series' colour (tab:blue, BGR 180,119,31) inside its box.
  for (int panel = 0; panel < 3; ++panel) {
    const cv::Mat box = image(cv::Rect(90, panel * 320 + 45, 780, 220));
    cv::Mat mask;
    cv::inRange(box, cv::Scalar(170, 109, 21), cv::Scalar(190, 129, 41), mask);
    INFO("panel ", panel);
    CHECK(cv::countNonZero(mask) > 50);
  }
  CHECK_THROWS_WITH(engine::write_training_curves(dir / "missing.jsonl", dir / "x.png"),
                    doctest::Contains("missing.jsonl"));
}

TEST_CASE("a run stopped by Ctrl-C and resumed ends bit-identical to an uninterrupted one") {
  fgreid::test::TempDir dir;
  const auto whole = run_command(kBaseline + kTiny + " --plot --output " + (dir / "whole").string() +
                                 " --export-weights " + (dir / "whole.pt").string());
  REQUIRE_MESSAGE(whole.exit_code == 0, whole.err);
  CHECK(std::filesystem::exists(dir / "whole" / "curves.png"));
  // How many iterations an epoch has, from the log: stop in the middle of the second epoch.
  std::int64_t per_epoch = 0;
  {
    std::ifstream log(dir / "whole" / "log.jsonl");
    std::string line;
    while (std::getline(log, line)) {
      const auto record = nlohmann::json::parse(line);
      if (record.contains("iterations")) per_epoch = record["iterations"].get<std::int64_t>();
    }
  }
  REQUIRE(per_epoch >= 2);
  const auto stop_at = per_epoch + per_epoch / 2;

  const auto stopped = run_command("FGREID_INTERRUPT_AFTER_ITERATION=" + std::to_string(stop_at) + " " +
                                   kBaseline + kTiny + " --output " + (dir / "parts").string());
  CHECK(stopped.exit_code == 130);
  CHECK(stopped.err.find("--resume " + (dir / "parts").string()) != std::string::npos);
  REQUIRE(std::filesystem::exists(dir / "parts" / "last.pt"));
  CHECK_FALSE(std::filesystem::exists(dir / "parts" / "metrics.json"));

  const auto resumed = run_command(kBaseline + kTiny + " --resume " + (dir / "parts").string() +
                                   " --export-weights " + (dir / "parts.pt").string());
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(resumed.err.find("resuming") != std::string::npos);
  auto metrics = [](const std::string& out) {
    auto j = nlohmann::json::parse(last_line(out));
    return std::make_pair(j["rank1"].get<double>(), j["mAP"].get<double>());
  };
  CHECK(metrics(resumed.out) == metrics(whole.out));

  const auto a = fgreid::detail::load_tensor_dict(dir / "whole.pt");
  std::map<std::string, torch::Tensor> b;
  for (auto& [name, tensor] : fgreid::detail::load_tensor_dict(dir / "parts.pt")) b[name] = tensor;
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() > 100);
  std::size_t different = 0;
  for (const auto& [name, tensor] : a) {
    REQUIRE_MESSAGE(b.contains(name), name);
    if (!torch::equal(tensor, b.at(name))) ++different;
  }
  CHECK(different == 0);

  {  // a checkpoint of another model is refused and nothing is overwritten
    const auto before = read_text(dir / "parts" / "config.json");
    const auto wrong = run_command(kMarket + kTiny + " --resume " + (dir / "parts").string());
    CHECK(wrong.exit_code == 1);
    CHECK(last_line(wrong.err).starts_with("recipe_market_image: error: " + (dir / "parts" / "last.pt").string()));
    CHECK(wrong.err.find("model") != std::string::npos);
    CHECK(read_text(dir / "parts" / "config.json") == before);
  }
  {  // a truncated checkpoint is refused, naming the file

    const auto bytes = read_text(dir / "parts" / "last.pt");
    std::filesystem::create_directories(dir / "torn");
    std::ofstream(dir / "torn" / "last.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    const auto torn = run_command(kBaseline + kTiny + " --resume " + (dir / "torn").string());
    CHECK(torn.exit_code == 1);
    CHECK(last_line(torn.err).starts_with("recipe_baseline: error: " + (dir / "torn" / "last.pt").string()));
    CHECK(read_text(dir / "torn" / "last.pt").size() == bytes.size() / 2);
    CHECK_FALSE(std::filesystem::exists(dir / "torn" / "config.json"));
  }
}

TEST_CASE("a second Ctrl-C quits at once, without a checkpoint") {
  fgreid::test::TempDir dir;
  const auto output = dir / "run";
  // The first signal arrives once the loop trains (its log has a line) and asks for a stop
  // after the iteration; the second, sent when the first was acknowledged, ends the process
  // before that. Full-size images make an iteration seconds long. (Two signals sent at once
  // would merge into one: a pending signal is not queued twice.)
  const auto err = dir / "err";
  const auto script = fmt::format(
      "{} --device cpu --threads 1 --workers 1 --height 256 --width 128 --batch-p 4 --batch-k 4 "
      "--max-epoch 1 --print-every 1 --output {} >/dev/null 2>{} & pid=$!; "
      "for i in $(seq 600); do [ -s {} ] && break; sleep 0.1; done; kill -INT $pid; "
      "for i in $(seq 300); do grep -q 'interrupted:' {} && break; sleep 0.01; done; "
      "kill -INT $pid; wait $pid; echo $?",
      kBaseline, output.string(), err.string(), (output / "log.jsonl").string(), err.string());
  const auto result = run_command(script);
  CHECK(last_line(result.out) == "130");
  CHECK_FALSE(std::filesystem::exists(output / "last.pt"));
  CHECK(read_text(err).find("interrupted twice") != std::string::npos);
}

TEST_CASE("fgreid_average: mean and sample spread of metric lines, as numpy computes them") {
  fgreid::test::TempDir dir;
  {
    std::ofstream runs(dir / "runs.jsonl");
    runs << R"({"rank1": 0.5, "mAP": 0.25, "recipe": "x", "rerank": {"rank1": 0.6}})" << "\n\n"
         << R"({"rank1": 0.75, "mAP": 0.5, "rerank": {"rank1": 0.7}})" << "\n"
         << R"({"rank1": 0.6, "mAP": 0.2, "rerank": {"rank1": 0.9}, "recipe": "y"})" << "\n";
  }
  const auto tool = std::string(FGREID_BINARY_DIR) + "/fgreid_average ";
  const auto result = run_command(tool + (dir / "runs.jsonl").string());
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  const auto summary = nlohmann::json::parse(last_line(result.out));
  const auto numpy = run_command(std::string(FGREID_PYTHON) +
                                 " -c \"import numpy as np; a=np.array([[.5,.25,.6],[.75,.5,.7],[.6,.2,.9]]);"
                                 " print(*a.mean(0), *a.std(0, ddof=1))\"");
  REQUIRE(numpy.exit_code == 0);
  std::istringstream expected(numpy.out);
  double mean_rank1, mean_map, mean_rerank, std_rank1, std_map, std_rerank;
  expected >> mean_rank1 >> mean_map >> mean_rerank >> std_rank1 >> std_map >> std_rerank;
  CHECK(summary["runs"] == 3);
  CHECK(summary["mean"]["rank1"].get<double>() == doctest::Approx(mean_rank1).epsilon(1e-12));
  CHECK(summary["mean"]["mAP"].get<double>() == doctest::Approx(mean_map).epsilon(1e-12));
  CHECK(summary["mean"]["rerank.rank1"].get<double>() == doctest::Approx(mean_rerank).epsilon(1e-12));
  CHECK(summary["std"]["rank1"].get<double>() == doctest::Approx(std_rank1).epsilon(1e-12));
  CHECK(summary["std"]["mAP"].get<double>() == doctest::Approx(std_map).epsilon(1e-12));
  CHECK(summary["std"]["rerank.rank1"].get<double>() == doctest::Approx(std_rerank).epsilon(1e-12));
  CHECK(summary["min"]["mAP"] == 0.2);
  CHECK(summary["max"]["rank1"] == 0.75);
  CHECK_FALSE(summary["mean"].contains("recipe"));

  std::ofstream(dir / "bad.jsonl") << "{\"rank1\": 0.5}\nnot json\n";
  const auto bad = run_command(tool + (dir / "bad.jsonl").string());
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("bad.jsonl:2") != std::string::npos);
}

TEST_CASE("fgreid_average: a metric one line lacks, or reports as null (NaN), is an error naming the line") {
  fgreid::test::TempDir dir;
  const auto tool = std::string(FGREID_BINARY_DIR) + "/fgreid_average ";
  std::ofstream(dir / "missing.jsonl") << R"({"rank1": 0.5, "mAP": 0.2})" << "\n"
                                       << R"({"rank1": 0.6})" << "\n";
  const auto missing = run_command(tool + (dir / "missing.jsonl").string());
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err.find("missing.jsonl:2: lacks the metric 'mAP'") != std::string::npos);

  std::ofstream(dir / "nan.jsonl") << R"({"rank1": 0.5, "mAP": 0.2})" << "\n"
                                   << R"({"rank1": 0.6, "mAP": null})" << "\n";
  const auto nan = run_command(tool + (dir / "nan.jsonl").string());
  CHECK(nan.exit_code == 1);
  CHECK(nan.err.find("nan.jsonl:2: the metric 'mAP' is null, not a number") != std::string::npos);
}
