// bench_train_step: images/s of full training iterations (forward, loss, backward, optimizer
// step) of a recipe's model and objective at 256×128, batch P × K (default 16 × 4 = 64, labels
// identity-major as the sampler gives them), against the same network and loss in PyTorch-Python
// (bench/train_step_peer.py) in the same invocation, with the same thread count, device,
// precision, memory layout and batch: once eager, and once with the module under torch.compile
// (default mode; its warm-up absorbs the compile, reported apart as compile_seconds).
//
//   bench_train_step [--model baseline|fgreid] [--device cpu|cuda] [--threads N]
//                    [--amp off|bf16|fp16] [--channels-last] [--warmup W] [--iterations N]
//                    [--height H] [--width W] [--batch-p P] [--batch-k K] [--peak-tflops T]
//                    [--skip-peer] [--skip-compiled] [--no-cuda-graphs]
//
// baseline: BNNeck<ResNet-50> + label-smoothed CE + batch-hard triplet (recipe_baseline) vs
// torchvision's resnet50 with the same neck and losses. fgreid: the FGReID network + the seed's
// objective (recipe_market_image) vs test/reference/fgreid_reference.py's module and objective.
// --skip-compiled omits the compiled peer (on the CPU, inductor takes minutes over ResNet-50);
// --skip-peer omits both. A compiled peer that fails is reported as {"error": ...}. On CUDA the
// step is the recipes' (engine::TrainStep), captured as a CUDA graph unless --no-cuda-graphs;
// fgreid.cuda_graph says whether it was.
//
// Prints one JSON line: fgreid, pytorch and pytorch_compiled objects (images/s, TFLOP/s and, on
// CUDA, fraction_of_bf16_peak of --peak-tflops, default 989, the bf16 dense peak of H100 SXM and
// H200), ratio (fgreid / eager) and ratio_compiled (fgreid / compiled), and the model's MACs per
// image. scripts/bench-table turns such lines into a Markdown table.
#include <fgreid/engine/host_memory.hpp>
#include <fgreid/detail/policy_adapters.hpp>
#include <fgreid/engine/optim.hpp>
#include <fgreid/engine/train_step.hpp>
#include <fgreid/models/summary.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench/support.hpp"
#include "recipes/baseline.hpp"
#include "recipes/market_image.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

namespace {

using fgreid::bench::Clock;
using fgreid::bench::integer_flag;
using fgreid::bench::seconds_since;
namespace engine = fgreid::engine;

struct Settings {
  std::string model = "baseline";
  std::string device = "cpu";
  std::string amp = "off";
  bool channels_last = false;
  int threads = 0;
  int warmup = 2;
  int iterations = 3;
  std::int64_t height = 256, width = 128, batch_p = 16, batch_k = 4, classes = 751;
  double peak_tflops = 989.0;
  bool skip_peer = false;
  bool skip_compiled = false;
  bool cuda_graphs = true;
};

double positive_number_flag(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !(number > 0))
    throw std::invalid_argument(fmt::format("{} needs a positive number, not '{}'", flag, text));
  return number;
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--model") s.model = value();
    else if (flag == "--device") s.device = value();
    else if (flag == "--amp") s.amp = value();
    else if (flag == "--channels-last") s.channels_last = true;
    else if (flag == "--threads") s.threads = static_cast<int>(integer_flag(flag, value(), 0));
    else if (flag == "--warmup") s.warmup = static_cast<int>(integer_flag(flag, value(), 0));
    else if (flag == "--iterations") s.iterations = static_cast<int>(integer_flag(flag, value(), 1));
    else if (flag == "--height") s.height = integer_flag(flag, value(), 1);
    else if (flag == "--width") s.width = integer_flag(flag, value(), 1);
    // K >= 2: the triplet losses need a second image of each identity, and the seed's variance
    // term divides by (K - 1).
    else if (flag == "--batch-p") s.batch_p = integer_flag(flag, value(), 1);
    else if (flag == "--batch-k") s.batch_k = integer_flag(flag, value(), 2);
    else if (flag == "--peak-tflops") s.peak_tflops = positive_number_flag(flag, value());
    else if (flag == "--skip-peer") s.skip_peer = true;
    else if (flag == "--skip-compiled") s.skip_compiled = true;
    else if (flag == "--no-cuda-graphs") s.cuda_graphs = false;
    else throw std::invalid_argument("unknown flag " + flag);
  }
  if (s.batch_p > s.classes)
    throw std::invalid_argument(fmt::format("--batch-p {} exceeds the {} identities", s.batch_p, s.classes));
  if (s.model != "baseline" && s.model != "fgreid") throw std::invalid_argument("--model baseline|fgreid");
  if (s.amp != "off" && s.amp != "bf16" && s.amp != "fp16") throw std::invalid_argument("--amp off|bf16|fp16");
  return s;
}

engine::AmpMode amp_mode(const std::string& amp) {
  return amp == "bf16" ? engine::AmpMode::bf16 : amp == "fp16" ? engine::AmpMode::fp16 : engine::AmpMode::off;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

/// Times `iterations` training steps of Recipe's model and loss after `warmup` ones.
template <class Recipe>
nlohmann::json run_cpp(const Settings& s) {
  const torch::Device device(s.device == "cuda" ? torch::kCUDA : torch::kCPU);
  typename Recipe::Config config;
  Recipe::defaults(config);
  torch::manual_seed(0);
  auto model = Recipe::ModelPolicy::build(
      config.model, fgreid::models::ModelContext{s.classes, s.height, s.width});
  const auto macs = fgreid::models::describe_model(*model, s.height, s.width).macs_per_image;
  model->to(device);
  if (s.channels_last)
    for (auto& parameter : model->parameters())
      if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(at::MemoryFormat::ChannelsLast));
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  fgreid::detail::LossAdapter<typename Recipe::LossPolicy> loss(
      config.loss, fgreid::losses::LossContext{s.classes, model->feature_dim()});
  loss.to(device);
  engine::ModelOptimizer optimizer(*model, config.train);
  const auto amp = amp_mode(s.amp);
  engine::GradScaler scaler(amp == engine::AmpMode::fp16, device);
  // The recipes' step, graph and all.
  engine::TrainStep train_step({*model, loss, optimizer, scaler}, device,
                               {amp, s.channels_last, s.cuda_graphs && device.is_cuda()});

  const auto batch = s.batch_p * s.batch_k;
  auto images = torch::randn({batch, 3, s.height, s.width}).to(device);
  const auto labels = torch::randperm(s.classes).slice(0, 0, s.batch_p).repeat_interleave(s.batch_k).to(device);
  model->train();
  double loss_value = 0;
  auto step = [&] { return train_step(images, labels).total; };
  // A captured graph's warm-up includes its eager steps and the capture.
  const int warmup = s.cuda_graphs && device.is_cuda()
                         ? std::max(s.warmup, engine::TrainStep::eager_steps_before_capture + 1)
                         : s.warmup;
  for (int i = 0; i < warmup; ++i) step();
  synchronize(device);
  const auto start = Clock::now();
  torch::Tensor last;
  for (int i = 0; i < s.iterations; ++i) last = step();
  synchronize(device);
  const double seconds = seconds_since(start);
  loss_value = last.item<double>();
  return {{"images_per_s", static_cast<double>(batch * s.iterations) / seconds},
          {"seconds", seconds},
          {"cuda_graph", train_step.captured()},
          {"loss", loss_value},
          {"macs_per_image", macs}};
}

/// The PyTorch-Python peer's JSON line, eager or with the module under torch.compile.
nlohmann::json run_peer(const Settings& s, bool compiled) {
  return fgreid::bench::run_for_json(
      "bench_train_step",
      fmt::format("{} {}/bench/train_step_peer.py --model {} --device {} --threads {} --amp {} {} "
                  "--warmup {} --iterations {} --height {} --width {} --classes {} --batch-p {} "
                  "--batch-k {} {}",
                  FGREID_PYTHON, FGREID_SOURCE_DIR, s.model, s.device, at::get_num_threads(), s.amp,
                  s.channels_last ? "--channels-last" : "", s.warmup, s.iterations, s.height, s.width,
                  s.classes, s.batch_p, s.batch_k, compiled ? "--compile" : ""));
}

/// The compiled peer may fail where the eager one runs (no compiler, no Triton, an op inductor
/// cannot lower): its failure becomes an "error" field, not the whole benchmark's.
nlohmann::json run_compiled_peer(const Settings& s) {
  try {
    return run_peer(s, true);
  } catch (const std::exception& e) {
    return {{"error", std::string(e.what()).substr(0, 600)}};
  }
}

/// Adds `contender`'s TFLOP/s and, on CUDA, its share of the bf16 dense peak; returns its rate.
double add_throughput(nlohmann::json& contender, double flops_per_image, const Settings& s) {
  const double rate = contender["images_per_s"].get<double>();
  contender["tflops"] = rate * flops_per_image / 1e12;
  if (s.device == "cuda") contender["fraction_of_bf16_peak"] = rate * flops_per_image / 1e12 / s.peak_tflops;
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto s = parse(argc, argv);
    engine::keep_freed_host_memory();  // as every recipe does
    if (s.threads > 0) at::set_num_threads(s.threads);
    if (s.device == "cuda" && !torch::cuda::is_available())
      throw std::invalid_argument("--device cuda: no CUDA device");
    nlohmann::json result{{"benchmark", "train_step"}, {"model", s.model},   {"device", s.device},
                          {"amp", s.amp},              {"channels_last", s.channels_last},
                          {"threads", at::get_num_threads()},
                          {"batch", s.batch_p * s.batch_k}, {"batch_p", s.batch_p}, {"batch_k", s.batch_k},
                          {"height", s.height}, {"width", s.width}};
    // The peers first: this process keeps its freed memory for reuse (as recipes do), and the
    // two at 256×128 would not fit in 24 GB side by side.
    if (!s.skip_peer) result["pytorch"] = run_peer(s, false);
    if (!s.skip_peer && !s.skip_compiled) result["pytorch_compiled"] = run_compiled_peer(s);
    result["fgreid"] = s.model == "baseline" ? run_cpp<fgreid::recipes::baseline::Recipe>(s)
                                             : run_cpp<fgreid::recipes::market_image::Recipe>(s);
    // A training step is about three forward passes: forward, and backward's two products.
    const double flops = 2.0 * 3.0 * result["fgreid"]["macs_per_image"].get<double>();
    result["train_gflops_per_image"] = flops / 1e9;
    if (s.device == "cuda") result["peak_tflops"] = s.peak_tflops;
    const double rate = add_throughput(result["fgreid"], flops, s);
    if (result.contains("pytorch")) result["ratio"] = rate / add_throughput(result["pytorch"], flops, s);
    if (result.contains("pytorch_compiled") && !result["pytorch_compiled"].contains("error"))
      result["ratio_compiled"] = rate / add_throughput(result["pytorch_compiled"], flops, s);
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_train_step: " << e.what() << "\n";
    return 1;
  }
}
