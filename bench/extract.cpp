// bench_extract: images/s of test-time feature extraction of a recipe's model at 256×128: per
// batch of --test-batch images, the inference forward in eval mode of the images and of their
// horizontal flip (eval::FeatureForward, the evaluation's and --extract-images' forward, in the
// run's precision, on CUDA replayed as a CUDA graph unless --no-cuda-graphs), their sum
// L2-normalised and copied to the host as the evaluation does.
// Against the same network in PyTorch-Python eager (bench/extract_peer.py: python/fgreid's
// modules under torch.inference_mode) in the same invocation, with the same threads, device,
// autocast, memory layout, batch and cuDNN settings.
//
//   bench_extract [--model baseline|fgreid] [--device cpu|cuda] [--threads N]
//                 [--amp off|bf16|fp16] [--channels-last] [--cudnn-benchmark]
//                 [--test-batch B] [--warmup W] [--iterations N] [--height H] [--width W]
//                 [--no-cuda-graphs] [--skip-peer]
//
// baseline: BNNeck<ResNet-50> (recipe_baseline); fgreid: the FGReID image network
// (recipe_market_image). The batch stays on the device: the loader's decoding and host-to-device
// copy are bench_loader's. By default both sides run under eval::ReproducibleKernels' cuDNN
// settings (heuristics, deterministic algorithms), as every extraction does; --cudnn-benchmark
// lets both time their algorithms instead, which shows what reproducibility costs.
//
// Prints one JSON line: fgreid and pytorch objects (images/s, TFLOP/s of the two forwards),
// ratio (fgreid / pytorch), the requested --amp and the autocast the extraction applies on the
// device (eval::ForwardSettings::autocast_on), whether fgreid's batches replayed a CUDA graph
// (fgreid.cuda_graph), and the model's MACs per image.
#include <fgreid/engine/host_memory.hpp>
#include <fgreid/eval/features.hpp>
#include <fgreid/models/summary.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench/support.hpp"
#include "recipes/baseline.hpp"
#include "recipes/market_image.hpp"

#include <iostream>
#include <optional>
#include <string>

namespace {

using fgreid::bench::Clock;
using fgreid::bench::integer_flag;
using fgreid::bench::seconds_since;
namespace engine = fgreid::engine;
namespace eval = fgreid::eval;

struct Settings {
  std::string model = "baseline";
  std::string device = "cpu";
  std::string amp = "off";
  bool channels_last = false;
  bool cudnn_benchmark = false;
  bool cuda_graphs = true;
  int threads = 0;
  int warmup = 2;
  int iterations = 5;
  std::int64_t height = 256, width = 128, test_batch = 256, classes = 751;
  bool skip_peer = false;
};

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
    else if (flag == "--cudnn-benchmark") s.cudnn_benchmark = true;
    else if (flag == "--threads") s.threads = static_cast<int>(integer_flag(flag, value(), 0));
    else if (flag == "--warmup") s.warmup = static_cast<int>(integer_flag(flag, value(), 0));
    else if (flag == "--iterations") s.iterations = static_cast<int>(integer_flag(flag, value(), 1));
    else if (flag == "--test-batch") s.test_batch = integer_flag(flag, value(), 1);
    else if (flag == "--height") s.height = integer_flag(flag, value(), 1);
    else if (flag == "--width") s.width = integer_flag(flag, value(), 1);
    else if (flag == "--no-cuda-graphs") s.cuda_graphs = false;
    else if (flag == "--skip-peer") s.skip_peer = true;
    else throw std::invalid_argument("unknown flag " + flag);
  }
  if (s.model != "baseline" && s.model != "fgreid") throw std::invalid_argument("--model baseline|fgreid");
  if (s.device != "cpu" && s.device != "cuda") throw std::invalid_argument("--device cpu|cuda");
  if (s.amp != "off" && s.amp != "bf16" && s.amp != "fp16") throw std::invalid_argument("--amp off|bf16|fp16");
  return s;
}

engine::AmpMode amp_mode(const std::string& amp) {
  return amp == "bf16" ? engine::AmpMode::bf16 : amp == "fp16" ? engine::AmpMode::fp16 : engine::AmpMode::off;
}

std::string amp_name(engine::AmpMode amp) {
  return amp == engine::AmpMode::bf16 ? "bf16" : amp == engine::AmpMode::fp16 ? "fp16" : "off";
}

torch::Device device_of(const Settings& s) { return s.device == "cuda" ? torch::kCUDA : torch::kCPU; }

eval::ForwardSettings forward_of(const Settings& s) { return {amp_mode(s.amp), s.channels_last, s.cuda_graphs}; }

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

/// Times `iterations` batches of Recipe's model through extraction's forward after `warmup`.
template <class Recipe>
nlohmann::json run_cpp(const Settings& s) {
  const auto device = device_of(s);
  typename Recipe::Config config;
  Recipe::defaults(config);
  torch::manual_seed(0);
  auto model = Recipe::ModelPolicy::build(config.model,
                                          fgreid::models::ModelContext{s.classes, s.height, s.width});
  const auto macs = fgreid::models::describe_model(*model, s.height, s.width).macs_per_image;
  model->to(device);
  torch::NoGradGuard no_grad;
  if (s.channels_last)  // as engine::place converts the run's model
    for (auto& parameter : model->parameters())
      if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(at::MemoryFormat::ChannelsLast));
  model->eval();
  // cuDNN as every extraction runs it, or timing its algorithms (--cudnn-benchmark).
  std::optional<eval::ReproducibleKernels> reproducible;
  if (s.cudnn_benchmark)
    at::globalContext().setBenchmarkCuDNN(true);
  else
    reproducible.emplace();
  eval::FeatureForward forward(*model, device, forward_of(s), /*flip=*/true);
  const auto images = torch::randn({s.test_batch, 3, s.height, s.width}).to(device);
  auto batch = [&] {
    const auto [plain, flipped] = forward(images);
    return torch::nn::functional::normalize(plain + flipped,
                                            torch::nn::functional::NormalizeFuncOptions().dim(1))
        .to(torch::kCPU);
  };
  for (int i = 0; i < s.warmup; ++i) (void)batch();
  synchronize(device);
  const auto start = Clock::now();
  torch::Tensor last;
  for (int i = 0; i < s.iterations; ++i) last = batch();
  synchronize(device);
  const double seconds = seconds_since(start);
  return {{"images_per_s", static_cast<double>(s.test_batch * s.iterations) / seconds},
          {"seconds", seconds},
          {"finite", torch::isfinite(last).all().item<bool>()},
          {"cuda_graph", forward.captured()},
          {"macs_per_image", macs}};
}

/// The PyTorch-Python peer's JSON line, with the autocast the extraction applies on the device.
nlohmann::json run_peer(const Settings& s, const std::string& autocast) {
  return fgreid::bench::run_for_json(
      "bench_extract",
      fmt::format("{} {}/bench/extract_peer.py --model {} --device {} --threads {} --amp {} {} {} "
                  "--warmup {} --iterations {} --height {} --width {} --classes {} --test-batch {}",
                  FGREID_PYTHON, FGREID_SOURCE_DIR, s.model, s.device, at::get_num_threads(), autocast,
                  s.channels_last ? "--channels-last" : "", s.cudnn_benchmark ? "--cudnn-benchmark" : "",
                  s.warmup, s.iterations, s.height, s.width, s.classes, s.test_batch));
}

/// Adds `contender`'s TFLOP/s (two forwards per image: it and its flip); returns its rate.
double add_throughput(nlohmann::json& contender, double flops_per_image) {
  const double rate = contender["images_per_s"].get<double>();
  contender["tflops"] = rate * flops_per_image / 1e12;
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
    const auto autocast = amp_name(forward_of(s).autocast_on(device_of(s)));
    nlohmann::json result{{"benchmark", "extract"},     {"model", s.model},
                          {"device", s.device},          {"amp", s.amp},
                          {"autocast", autocast},        {"channels_last", s.channels_last},
                          {"cudnn_benchmark", s.cudnn_benchmark},
                          {"threads", at::get_num_threads()},
                          {"test_batch", s.test_batch},  {"height", s.height},
                          {"width", s.width}};
    // The peer first: this process keeps its freed memory for reuse (as recipes do).
    if (!s.skip_peer) result["pytorch"] = run_peer(s, autocast);
    result["fgreid"] = s.model == "baseline" ? run_cpp<fgreid::recipes::baseline::Recipe>(s)
                                             : run_cpp<fgreid::recipes::market_image::Recipe>(s);
    const double flops = 2.0 * 2.0 * result["fgreid"]["macs_per_image"].get<double>();
    result["infer_gflops_per_image"] = flops / 1e9;
    const double rate = add_throughput(result["fgreid"], flops);
    if (result.contains("pytorch")) result["ratio"] = rate / add_throughput(result["pytorch"], flops);
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_extract: " << e.what() << "\n";
    return 1;
  }
}
