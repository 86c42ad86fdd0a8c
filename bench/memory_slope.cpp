// bench_memory_slope: does a long run's memory stay flat? Trains a tiny model through the real
// engine (recipe_main: the loader threads, sampler, progress, log.jsonl, loss, optimiser,
// periodic checkpoints and the final evaluation, exactly as every recipe) for --iterations
// steps, samples resident memory (and on CUDA the caching allocator's allocated and reserved
// bytes) at the start of every K-th training forward, and fits a least-squares line to each
// after a warm-up. The same tiny network's plain PyTorch loop (bench/memory_slope_peer.py) is
// measured in the same invocation and fitted by the same code.
//
//   bench_memory_slope [--iterations 10000] [--epoch-iterations 20] [--device cpu|cuda]
//                      [--threads N] [--workers 1] [--height 32] [--width 16]
//                      [--checkpoint-every 1000it] [--samples 200] [--warmup-fraction 0.1]
//                      [--peer true|false] [--leak-bytes-per-iteration B] [-- recipe flags]
//
// --leak-bytes-per-iteration keeps B bytes per training step (written host pages on the CPU,
// a tensor on CUDA): the detector's own check, which must turn the verdict.
// Prints one JSON line; exit 0 whatever the verdict (a bench reports, it does not judge).
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/error.hpp>
#include <fgreid/experiment.hpp>
#include <fgreid/losses/cross_entropy.hpp>
#include <fgreid/losses/losses.hpp>
#include <fgreid/losses/triplet.hpp>
#include <fgreid/models/batch_norm.hpp>
#include <fgreid/models/module.hpp>
#include <fgreid/samplers/pk.hpp>

#include <ATen/DeviceAccelerator.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "bench/support.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace fgreid::bench::memory_slope {

// --- what is measured: one sample per K training steps ----------------------------------------

/// Memory at one training step, in MB (GPU fields 0 off CUDA).
struct Sample {
  std::int64_t iteration = 0;
  double rss_mb = 0, gpu_allocated_mb = 0, gpu_reserved_mb = 0;
};

/// This process's resident memory in MB, from /proc/self/statm (its second field, in pages).
double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) throw std::runtime_error("cannot read /proc/self/statm");
  return static_cast<double>(resident_pages) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}

/// Keeps `bytes` written host memory for good, in whole pages of its own mapping. Not malloc:
/// a small block kept in glibc's heap splits a freed activation block that the next step then
/// takes fresh from the system, so a kept 1 kB showed as 200 kB a step (docs/memory.md).
void leak_host_pages(std::int64_t bytes) {
  void* pages = ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED) throw std::runtime_error("--leak-bytes-per-iteration: mmap failed");
  std::memset(pages, 1, static_cast<std::size_t>(bytes));
}

/// Counts the training steps of the network it is attached to, takes a Sample every
/// `every` steps, and keeps `leak_bytes` per step when asked to (the detector's check): host
/// pages on the CPU, a tensor in the caching allocator on CUDA.
struct Probe {
  std::int64_t every = 50;
  std::int64_t leak_bytes = 0;
  std::int64_t steps = 0;
  std::vector<Sample> samples;
  std::vector<torch::Tensor> leaked;

  void on_training_step(const torch::Device& device) {
    if (steps % every == 0) samples.push_back(sample(device));
    ++steps;
    if (leak_bytes == 0) return;
    if (device.is_cuda())
      leaked.push_back(torch::full({leak_bytes}, 1, torch::TensorOptions(torch::kUInt8).device(device)));
    else
      leak_host_pages(leak_bytes);
  }

  [[nodiscard]] Sample sample(const torch::Device& device) const {
    Sample s{.iteration = steps, .rss_mb = resident_mb()};
    if (device.is_cuda()) {  // the allocator's own books: no synchronisation needed
      constexpr auto aggregate = 0;
      const auto stats = at::accelerator::getDeviceStats(device.index() < 0 ? 0 : device.index());
      s.gpu_allocated_mb = static_cast<double>(stats.allocated_bytes[aggregate].current) / 1048576.0;
      s.gpu_reserved_mb = static_cast<double>(stats.reserved_bytes[aggregate].current) / 1048576.0;
    }
    return s;
  }
};

/// The engine builds the network from the model policy's Options alone, so the bench's probe
/// reaches the network through this pointer (set before the run, cleared after).
Probe* probe = nullptr;

// --- the tiny model: a new model policy in a few lines -----------------------------------------

/// Two strided convolutions, global average pooling, a BatchNorm neck and a bias-free classifier:
/// BoT's head on a trunk of 5 k parameters.
class TinyNetImpl : public models::ReidModuleImpl {
 public:
  explicit TinyNetImpl(std::int64_t num_classes) {
    namespace nn = torch::nn;
    auto conv = [](std::int64_t in, std::int64_t out) {
      return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(2).padding(1).bias(false));
    };
    trunk = register_module("trunk", nn::Sequential(conv(3, 16), models::BatchNorm2d(16), nn::ReLU(),
                                                    conv(16, kChannels), models::BatchNorm2d(kChannels),
                                                    nn::ReLU()));
    neck = register_module("neck", models::BatchNorm1d(kChannels));
    classifier = register_module(
        "classifier", nn::Linear(nn::LinearOptions(kChannels, num_classes).bias(false)));
  }
  models::TrainOutput forward_train(const torch::Tensor& images) override {
    if (probe != nullptr) probe->on_training_step(images.device());
    auto pooled = trunk->forward(images).mean({2, 3});
    auto normed = neck(pooled);
    return {.logits = {classifier(normed)}, .embedding = pooled, .features = normed, .attention = {}};
  }
  torch::Tensor forward(const torch::Tensor& images) override {
    return neck(trunk->forward(images).mean({2, 3}));
  }
  [[nodiscard]] std::int64_t feature_dim() const override { return kChannels; }
  [[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> trunks() override {
    return {{"trunk", trunk.ptr()}};
  }

 private:
  static constexpr std::int64_t kChannels = 32;
  torch::nn::Sequential trunk{nullptr};
  models::BatchNorm1d neck{nullptr};
  torch::nn::Linear classifier{nullptr};
};

/// The model policy (fgreid::Model): a name, Options (none), a modality and build().
struct TinyModel {
  static constexpr std::string_view name = "model (tiny: two convolutions + BNNeck)";
  struct Options {
    FGREID_REFLECT_NOTHING();
  };
  static constexpr Modality modality = Modality::image;
  static std::shared_ptr<TinyNetImpl> build(const Options&, const models::ModelContext& context) {
    return std::make_shared<TinyNetImpl>(context.num_classes);
  }
};

using Loss    = losses::Losses<losses::LabelSmoothCE, losses::Triplet>;  // BoT's objective
using Sampler = samplers::PK<8, 4>;                                      // 8 ids × 4 images
using Dataset = datasets::Market1501;                                    // its synthetic stand-in
using Recipe  = Experiment<TinyModel, Loss, Sampler, Dataset>;
static_assert(ReidExperiment<Recipe>, "see fgreid/experiment.hpp");

// --- the bench's flags -------------------------------------------------------------------------

struct Settings {
  std::int64_t iterations = 10000;
  std::int64_t epoch_iterations = 20;
  std::string device = "cpu";
  int threads = 0;
  int workers = 1;
  int height = 32, width = 16;
  std::string checkpoint_every = "1000it";
  std::int64_t samples = 200;
  double warmup_fraction = 0.1;
  bool peer = true;
  std::int64_t leak_bytes = 0;
  std::vector<std::string> recipe_flags;  ///< after --, passed to the recipe as they are
};

/// A usage error naming `flag` unless `ok`.
void require(bool ok, const std::string& flag, const std::string& value, const char* what) {
  if (!ok) throw UsageError(fmt::format("{} {}: {}", flag, value, what));
}

std::int64_t integer(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  require(used == text.size() && !text.empty(), flag, text, "not an integer");
  return value;
}

double real(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  require(used == text.size() && !text.empty() && std::isfinite(value), flag, text, "not a finite number");
  return value;
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--") {
      s.recipe_flags.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc) throw UsageError(flag + ": needs a value");
    const std::string value = argv[++i];
    if (flag == "--iterations") s.iterations = integer(flag, value);
    else if (flag == "--epoch-iterations") s.epoch_iterations = integer(flag, value);
    else if (flag == "--device") s.device = value;
    else if (flag == "--threads") s.threads = static_cast<int>(integer(flag, value));
    else if (flag == "--workers") s.workers = static_cast<int>(integer(flag, value));
    else if (flag == "--height") s.height = static_cast<int>(integer(flag, value));
    else if (flag == "--width") s.width = static_cast<int>(integer(flag, value));
    else if (flag == "--checkpoint-every") s.checkpoint_every = value;
    else if (flag == "--samples") s.samples = integer(flag, value);
    else if (flag == "--warmup-fraction") s.warmup_fraction = real(flag, value);
    else if (flag == "--peer") s.peer = value == "true";
    else if (flag == "--leak-bytes-per-iteration") s.leak_bytes = integer(flag, value);
    else throw UsageError("unknown flag " + flag + " (recipe flags go after --)");
    if (flag == "--peer") require(value == "true" || value == "false", flag, value, "true or false");
  }
  require(s.device == "cpu" || s.device == "cuda", "--device", s.device, "cpu or cuda");
  require(s.epoch_iterations >= 1, "--epoch-iterations", std::to_string(s.epoch_iterations), "at least 1");
  require(s.iterations >= s.epoch_iterations && s.iterations % s.epoch_iterations == 0, "--iterations",
          std::to_string(s.iterations), "a positive multiple of --epoch-iterations");
  require(s.samples >= 10, "--samples", std::to_string(s.samples), "at least 10 (a line needs points)");
  require(s.warmup_fraction >= 0 && s.warmup_fraction < 0.9, "--warmup-fraction",
          std::to_string(s.warmup_fraction), "in [0, 0.9)");
  require(s.leak_bytes >= 0, "--leak-bytes-per-iteration", std::to_string(s.leak_bytes), "0 or more");
  return s;
}

std::int64_t sample_every(const Settings& s) { return std::max<std::int64_t>(1, s.iterations / s.samples); }

// --- the fit -----------------------------------------------------------------------------------

/// A least-squares line's slope and the slope's standard error.
struct Line {
  double slope = 0, standard_error = 0;
};

Line fit(const std::vector<double>& x, const std::vector<double>& y) {
  const auto n = static_cast<double>(x.size());
  double mean_x = 0, mean_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mean_x += x[i] / n;
    mean_y += y[i] / n;
  }
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - mean_x) * (x[i] - mean_x);
    sxy += (x[i] - mean_x) * (y[i] - mean_y);
  }
  const double slope = sxx > 0 ? sxy / sxx : 0;
  double residuals = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double r = y[i] - mean_y - slope * (x[i] - mean_x);
    residuals += r * r;
  }
  return {slope, sxx > 0 && n > 2 ? std::sqrt(residuals / (n - 2) / sxx) : 0};
}

/// The tolerated growth over the fitted span, in MB: 1 % of the memory measured, at least 4 MB.
/// A steady leak must add more than that to be called growth (10 kB a step over 9000 fitted
/// steps adds 90 MB); allocators settle in steps of a few MB, which must not be.
double tolerance_mb(double end_mb) { return std::max(4.0, 0.01 * end_mb); }

/// One memory series after the warm-up: the line, the growth it implies over the fitted span
/// (slope + 2 standard errors, so that noise cannot hide a leak), and the verdict.
nlohmann::json series(const std::vector<Sample>& samples, double Sample::*field, double warmup_fraction,
                      std::int64_t iterations) {
  std::vector<double> x, y;
  double peak = 0;
  for (const auto& s : samples) {
    peak = std::max(peak, s.*field);
    if (static_cast<double>(s.iteration) < warmup_fraction * static_cast<double>(iterations)) continue;
    x.push_back(static_cast<double>(s.iteration));
    y.push_back(s.*field);
  }
  if (x.size() < 3) throw std::runtime_error("fewer than 3 samples after the warm-up: raise --samples");
  const auto line = fit(x, y);
  const double span = x.back() - x.front();
  const double growth = (line.slope + 2 * line.standard_error) * span;
  return {{"start_mb", y.front()},
          {"end_mb", y.back()},
          {"peak_mb", peak},
          {"slope_mb_per_1000_iterations", 1000 * line.slope},
          {"slope_stderr_mb_per_1000_iterations", 1000 * line.standard_error},
          {"growth_bound_mb", growth},
          {"tolerance_mb", tolerance_mb(y.back())},
          {"flat", growth < tolerance_mb(y.back())}};
}

/// The report of one contender: its samples fitted series by series, and one verdict.
nlohmann::json report(const std::vector<Sample>& samples, const Settings& s, std::int64_t iterations,
                      double seconds, bool cuda) {
  nlohmann::json result{{"iterations", iterations},
                        {"seconds", seconds},
                        {"samples", samples.size()},
                        {"rss", series(samples, &Sample::rss_mb, s.warmup_fraction, s.iterations)}};
  bool flat = result["rss"]["flat"].get<bool>();
  if (cuda) {
    result["gpu_allocated"] = series(samples, &Sample::gpu_allocated_mb, s.warmup_fraction, s.iterations);
    result["gpu_reserved"] = series(samples, &Sample::gpu_reserved_mb, s.warmup_fraction, s.iterations);
    flat = flat && result["gpu_allocated"]["flat"].get<bool>() && result["gpu_reserved"]["flat"].get<bool>();
  }
  result["verdict"] = flat ? "flat" : "growing";
  return result;
}

// --- the two contenders ------------------------------------------------------------------------

/// Runs `action` with this process's stdout sent to stderr: the recipe's metrics line is the
/// run's, not the bench's, whose one line must stay the last on stdout.
template <class Action>
auto with_stdout_on_stderr(Action action) {
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  struct Restore {
    int saved;
    ~Restore() {
      std::fflush(stdout);
      ::dup2(saved, STDOUT_FILENO);
      ::close(saved);
    }
  } restore{saved};
  return action();
}

nlohmann::json run_fgreid(const Settings& s, const std::filesystem::path& output) {
  std::vector<std::string> args{
      "bench_memory_slope",  "--output",          output.string(),
      "--device",            s.device,            "--threads", std::to_string(s.threads),
      "--workers",           std::to_string(s.workers),
      "--height",            std::to_string(s.height),         "--width", std::to_string(s.width),
      "--epoch-iterations",  std::to_string(s.epoch_iterations),
      "--max-epoch",         std::to_string(s.iterations / s.epoch_iterations),
      "--warmup-epochs",     "1",                 "--milestones", std::to_string(s.iterations / s.epoch_iterations),
      "--eval-start",        std::to_string(s.iterations / s.epoch_iterations - 1),
      "--print-every",       std::to_string(std::max<std::int64_t>(1, s.iterations / 20)),
      "--checkpoint-every",  s.checkpoint_every};
  args.insert(args.end(), s.recipe_flags.begin(), s.recipe_flags.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  Probe measured;
  measured.every = sample_every(s);
  measured.leak_bytes = s.leak_bytes;
  probe = &measured;
  const auto start = Clock::now();
  const int code = with_stdout_on_stderr([&] {
    return recipe_main<Recipe>("memory_slope", static_cast<int>(args.size()), argv.data());
  });
  const double seconds = seconds_since(start);
  probe = nullptr;
  if (code != 0) throw std::runtime_error(fmt::format("the tiny recipe exited with {}", code));
  if (measured.steps != s.iterations)
    throw UsageError(fmt::format("--epoch-iterations {}: the engine ran {} steps, not {} (an epoch of the "
                                 "sampler is shorter; lower --epoch-iterations)",
                                 s.epoch_iterations, measured.steps, s.iterations));
  auto result = report(measured.samples, s, measured.steps, seconds, s.device == "cuda");
  const auto metrics = nlohmann::json::parse(std::ifstream(output / "metrics.json"));
  result["rank1"] = metrics.at("rank1");
  return result;
}

/// The peer prints its samples; they are fitted here, by the same code as fgreid's.
nlohmann::json run_peer(const Settings& s, const std::filesystem::path& data_root) {
  const auto peer = run_for_json(
      "bench_memory_slope",
      fmt::format("{} {}/bench/memory_slope_peer.py --data-root {} --iterations {} --epoch-iterations {} "
                  "--device {} --threads {} --workers {} --height {} --width {} --sample-every {}",
                  FGREID_PYTHON, FGREID_SOURCE_DIR, data_root.string(), s.iterations, s.epoch_iterations,
                  s.device, at::get_num_threads(), s.workers, s.height, s.width, sample_every(s)));
  std::vector<Sample> samples;
  for (const auto& row : peer.at("samples"))
    samples.push_back({row.at(0).get<std::int64_t>(), row.at(1).get<double>(), row.at(2).get<double>(),
                       row.at(3).get<double>()});
  auto result = report(samples, s, peer.at("iterations").get<std::int64_t>(), peer.at("seconds").get<double>(),
                       s.device == "cuda");
  result["torch"] = peer.at("torch");
  return result;
}

/// The synthetic Market-1501 tree the recipe trains on (made now if the cache lacks it).
std::filesystem::path synthetic_root() {
  return fgreid::detail::synthetic_data_root(
      Dataset::name, [](const std::filesystem::path& root) { Dataset::synthesize(root, Dataset::Options{}); });
}

int main(int argc, char** argv) {
  const auto s = parse(argc, argv);
  if (s.device == "cuda" && !torch::cuda::is_available()) throw UsageError("--device cuda: no CUDA device");
  if (s.threads > 0) at::set_num_threads(s.threads);
  auto scratch = std::filesystem::temp_directory_path() / fmt::format("fgreid-memory-slope-{}", ::getpid());
  std::filesystem::remove_all(scratch);
  nlohmann::json result{{"benchmark", "memory_slope"},
                        {"device", s.device},
                        {"threads", at::get_num_threads()},
                        {"workers", s.workers},
                        {"iterations", s.iterations},
                        {"epoch_iterations", s.epoch_iterations},
                        {"batch", 8 * 4},
                        {"height", s.height},
                        {"width", s.width},
                        {"checkpoint_every", s.checkpoint_every},
                        {"warmup_fraction", s.warmup_fraction},
                        {"leak_bytes_per_iteration", s.leak_bytes}};
  const auto root = synthetic_root();
  if (s.peer) result["pytorch"] = run_peer(s, root);
  result["fgreid"] = run_fgreid(s, scratch / "run");
  std::filesystem::remove_all(scratch);
  result["verdict"] = result["fgreid"]["verdict"];
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace fgreid::bench::memory_slope

int main(int argc, char** argv) {
  try {
    return fgreid::bench::memory_slope::main(argc, argv);
  } catch (const fgreid::UsageError& e) {
    std::cerr << "bench_memory_slope: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bench_memory_slope: " << e.what() << "\n";
    return 1;
  }
}
