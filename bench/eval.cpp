// bench_eval: fgreid's evaluation against the numpy paths of torchreid, at Market-1501 scale
// (3368 queries × 15913 gallery images, 2048-D features with identity structure) or at
// MSMT17's (11659 × 82161, 3060 identities), on the CPU or on a GPU.
//
//   bench_eval [--device cpu|cuda] [--msmt17 | --queries Q --gallery G] [--identities I]
//              [--scale S] [--dims D] [--skip-peer-metrics] [--skip-peer-rerank]
//              [--skip-cpu-check]
//
// Writes the features to a temporary folder, then runs every contender as its own process so
// that each peak resident memory (VmHWM, read by the process itself) is its own:
//   (a) metrics: squared-Euclidean distances + CMC/mAP — fgreid (LibTorch matmul +
//       evaluate_market) vs numpy + torchreid's eval_market1501;
//   (b) re-ranking — fgreid from the features (no N² matrix anywhere), fgreid on the dense
//       distance matrices torchreid's API takes, and numpy + torchreid's re_ranking.
// --scale multiplies the queries, gallery and identities of the chosen size.
//
// With --device cuda the fgreid contenders take the features from the host to the GPU (inside
// the clock) and compute the distances and re-ranking's matrix products there; CMC/mAP and
// re-ranking's neighbour bookkeeping stay on the CPU, as in the library. CUDA's context and
// cuBLAS are started before the clock, and the clock stops only after the GPU is done. The
// same contenders then run on the CPU (unless --skip-cpu-check), and "cuda_vs_cpu" compares
// their rank-1 and mAP: "bitwise_equal", and "agree" (within 5e-4). Bitwise equality is not
// promised: another summation order in the matrix product rounds some distances to the next
// float, which swaps items tied to that last bit. At Market's size that alone moves mAP by
// 1e-7 (fgreid's distances against numpy's, both on the CPU) and 4e-7 (re-ranking from
// features, which squares no square root, against numpy's re-ranking), while a misplaced block
// would move it by far more than 5e-4; a query whose rank-1 flips moves rank-1 by 1/queries
// (3e-4 at Market's size). "fgreid_vs_numpy" compares fgreid with numpy the same way.
// numpy's re-ranking holds about 24 bytes × N² (N = queries + gallery): when that exceeds the
// memory available (MSMT17: about 210 GB), it and the dense contender, which serves only the
// comparison with it, are skipped and the JSON says why. numpy's eval_market1501 loops in
// Python over every gallery entry of every query, some 10⁹ at MSMT17's size (157 s for
// 5000 × 30000 on 2 busy cores): --skip-peer-metrics leaves it out.
//
// Prints one JSON line: each contender's seconds, peak MB (and peak GPU MB), metrics, the
// ratios, "seconds" (fgreid on --device: distances + metrics, re-ranking + metrics), "agree"
// (every comparison agreed) and, on CUDA, "cuda_bitwise_equal_cpu".
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/rerank.hpp>
#include <fgreid/eval/suite.hpp>

#include <ATen/DeviceAccelerator.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "support.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ev = fgreid::eval;
using fgreid::bench::Clock;
using fgreid::bench::peak_rss_mb;
using fgreid::bench::seconds_since;

/// The synthetic evaluation's size.
struct Sizes {
  std::int64_t queries = 0, gallery = 0, identities = 0, dims = 2048;
};

/// The test splits of Market-1501 and MSMT17.
constexpr Sizes kMarket{.queries = 3368, .gallery = 15913, .identities = 751};
constexpr Sizes kMsmt17{.queries = 11659, .gallery = 82161, .identities = 3060};

struct Config {
  std::string part, data, device = "cpu";
  Sizes base = kMarket;
  std::optional<std::int64_t> queries, gallery, identities;
  std::int64_t dims = 2048;
  double scale = 1.0;
  bool peer_metrics = true, peer_rerank = true, cpu_check = true;
};

/// Runs a contender for its JSON line.
nlohmann::json run_child(const std::string& command) {
  return fgreid::bench::run_for_json("bench_eval", command);
}

template <typename T>
void write_binary(const fs::path& path, const T* data, std::size_t count) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(T)));
}

template <typename T>
std::vector<T> read_binary(const fs::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto bytes = static_cast<std::size_t>(in.tellg());
  std::vector<T> values(bytes / sizeof(T));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(bytes));
  return values;
}

/// A float32 [rows, dims] matrix read straight into its tensor: no second copy to count in the
/// contender's peak memory (at MSMT17's size the features are 770 MB).
torch::Tensor read_matrix(const fs::path& path, std::int64_t rows, std::int64_t dims) {
  auto matrix = torch::empty({rows, dims}, torch::kFloat);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(matrix.data_ptr<float>()),
          static_cast<std::streamsize>(matrix.numel() * sizeof(float)));
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return matrix;
}

/// Features with identity structure: an identity centre N(0, 1) per dimension plus image noise
/// N(0, 4²) — hard enough that rank-1 is far from 1. Cameras 1..6 at random. Distractor-free:
/// every gallery image belongs to one of the identities.
void generate(const fs::path& folder, const Sizes& sizes) {
  const auto [nq, ng, identities, dims] = sizes;
  torch::manual_seed(2024);
  const auto centres = torch::randn({identities, dims});
  const auto query_pids = torch::randint(identities, {nq}, torch::kLong);
  const auto gallery_pids = torch::randint(identities, {ng}, torch::kLong);
  const auto query_camids = torch::randint(1, 7, {nq}, torch::kLong);
  const auto gallery_camids = torch::randint(1, 7, {ng}, torch::kLong);
  const auto noise = 4.0;
  const auto query = (centres.index_select(0, query_pids) + noise * torch::randn({nq, dims})).contiguous();
  const auto gallery = (centres.index_select(0, gallery_pids) + noise * torch::randn({ng, dims})).contiguous();
  write_binary(folder / "query.f32", query.data_ptr<float>(), static_cast<std::size_t>(query.numel()));
  write_binary(folder / "gallery.f32", gallery.data_ptr<float>(), static_cast<std::size_t>(gallery.numel()));
  for (const auto& [name, tensor] : {std::pair{"query_pids", query_pids}, {"gallery_pids", gallery_pids},
                                     {"query_camids", query_camids}, {"gallery_camids", gallery_camids}})
    write_binary(folder / (std::string(name) + ".i64"), tensor.data_ptr<std::int64_t>(),
                 static_cast<std::size_t>(tensor.numel()));
  std::ofstream(folder / "meta.json") << nlohmann::json{{"nq", nq}, {"ng", ng}, {"dims", dims}}.dump();
}

/// What a contender process reads back.
struct Data {
  torch::Tensor query, gallery;
  std::vector<std::int64_t> query_pids, query_camids, gallery_pids, gallery_camids;
};

Data load(const fs::path& folder) {
  const auto meta = nlohmann::json::parse(std::ifstream(folder / "meta.json"));
  const auto nq = meta["nq"].get<std::int64_t>(), ng = meta["ng"].get<std::int64_t>(),
             dims = meta["dims"].get<std::int64_t>();
  Data data;
  data.query = read_matrix(folder / "query.f32", nq, dims);
  data.gallery = read_matrix(folder / "gallery.f32", ng, dims);
  data.query_pids = read_binary<std::int64_t>(folder / "query_pids.i64");
  data.query_camids = read_binary<std::int64_t>(folder / "query_camids.i64");
  data.gallery_pids = read_binary<std::int64_t>(folder / "gallery_pids.i64");
  data.gallery_camids = read_binary<std::int64_t>(folder / "gallery_camids.i64");
  return data;
}

ev::Metrics metrics_of(const Data& data, std::span<const float> distances) {
  return ev::evaluate_market(distances, {data.query_pids, data.query_camids},
                             {data.gallery_pids, data.gallery_camids}, 50);
}

std::span<const float> span_of(const torch::Tensor& cpu_matrix) {
  return {cpu_matrix.data_ptr<float>(), static_cast<std::size_t>(cpu_matrix.numel())};
}

std::vector<float> floats_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

// --- the device -----------------------------------------------------------------------------

/// --device's value as a device; a GPU that is not there is an error here, before any work.
torch::Device device_of(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name != "cuda") throw std::invalid_argument("--device: expected cpu or cuda, not '" + name + "'");
  if (!torch::cuda::is_available())
    throw std::invalid_argument("--device cuda: LibTorch sees no CUDA device on this machine");
  return {torch::kCUDA, 0};
}

/// Starts CUDA's context and cuBLAS before the clock: a process pays for them once, not each
/// evaluation (a training run has long paid for them when it evaluates).
void warm_up(const torch::Device& device) {
  if (!device.is_cuda()) return;
  const auto a = torch::ones({64, 64}, torch::TensorOptions().device(device));
  (void)torch::mm(a, a).sum().item<float>();
}

/// Waits for the GPU's queued work, so that a clock read after it counts that work.
void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

/// Puts the features on `device` (for the CPU, the same tensors), timed in out["seconds_upload"].
std::pair<torch::Tensor, torch::Tensor> upload(const Data& data, const torch::Device& device,
                                               nlohmann::json& out, Clock::time_point start) {
  auto features = std::pair{data.query.to(device), data.gallery.to(device)};
  synchronize(device);
  out["seconds_upload"] = seconds_since(start);
  return features;
}

// --- the contenders, each in its own process ------------------------------------------------

/// Distances on the device (back on the host by the library) and CMC/mAP on the CPU.
nlohmann::json part_metrics(const Data& data, const torch::Device& device) {
  nlohmann::json out;
  const auto start = Clock::now();
  const auto [query, gallery] = upload(data, device, out, start);
  const auto distances = ev::pairwise_distances(query, gallery, ev::Metric::euclidean);
  out["seconds_distances"] = seconds_since(start);
  const auto metrics_start = Clock::now();
  const auto metrics = metrics_of(data, span_of(distances));
  out["seconds_metrics"] = seconds_since(metrics_start);
  out["seconds_total"] = seconds_since(start);
  out["rank1"] = metrics.cmc[0];
  out["mAP"] = metrics.mAP;
  return out;
}

/// Re-ranking from the features: the matrix products on the device, no N² matrix anywhere.
/// seconds_source and seconds_rerank count from the start (upload included).
nlohmann::json part_rerank(const Data& data, const torch::Device& device) {
  nlohmann::json out;
  const auto start = Clock::now();
  const auto [query, gallery] = upload(data, device, out, start);
  const ev::FeatureRerankSource source(query, gallery, ev::Metric::euclidean);
  synchronize(device);
  out["seconds_source"] = seconds_since(start);
  const auto distances = ev::rerank(source, {});
  out["seconds_rerank"] = seconds_since(start);
  const auto metrics_start = Clock::now();
  const auto metrics = metrics_of(data, distances);
  out["seconds_metrics"] = seconds_since(metrics_start);
  out["seconds_total"] = seconds_since(start);
  out["rank1"] = metrics.cmc[0];
  out["mAP"] = metrics.mAP;
  return out;
}

/// torchreid's API: three Euclidean distance matrices in host memory, then re-ranking.
nlohmann::json part_rerank_dense(const Data& data, const torch::Device& device) {
  nlohmann::json out;
  const auto start = Clock::now();
  const auto [query, gallery] = upload(data, device, out, start);
  auto euclidean = [](const torch::Tensor& a, const torch::Tensor& b) {
    return floats_of(ev::pairwise_distances(a, b, ev::Metric::euclidean).sqrt_());
  };
  const auto qg = euclidean(query, gallery);
  const auto qq = euclidean(query, query);
  const auto gg = euclidean(gallery, gallery);
  out["seconds_distances"] = seconds_since(start);
  const auto rerank_start = Clock::now();
  const ev::DenseRerankSource source(qg, qq, gg, data.query_pids.size(), data.gallery_pids.size());
  const auto distances = ev::rerank(source, {});
  out["seconds_rerank"] = seconds_since(rerank_start);
  const auto metrics = metrics_of(data, distances);
  out["seconds_total"] = seconds_since(start);
  out["rank1"] = metrics.cmc[0];
  out["mAP"] = metrics.mAP;
  return out;
}

/// One contender, in this process: its JSON line, with the device and peak memory.
nlohmann::json run_part(const Config& config) {
  torch::NoGradGuard no_grad;
  const auto device = device_of(config.device);
  const Data data = load(config.data);
  warm_up(device);
  nlohmann::json out;
  if (config.part == "metrics") out = part_metrics(data, device);
  else if (config.part == "rerank") out = part_rerank(data, device);
  else if (config.part == "rerank-dense") out = part_rerank_dense(data, device);
  else throw std::invalid_argument("--part: expected metrics, rerank or rerank-dense");
  out["device"] = device.str();
  out["peak_rss_mb"] = peak_rss_mb();
  if (device.is_cuda()) {  // the caching allocator's own books; index 0 is the aggregate
    const auto stats = at::accelerator::getDeviceStats(device.index());
    out["peak_gpu_allocated_mb"] = static_cast<double>(stats.allocated_bytes[0].peak) / 1048576.0;
    out["peak_gpu_reserved_mb"] = static_cast<double>(stats.reserved_bytes[0].peak) / 1048576.0;
  }
  return out;
}

// --- the comparison -------------------------------------------------------------------------

/// How far one contender's rank-1 and mAP are from another's: within kAgreement, or equal.
constexpr double kAgreement = 5e-4;

nlohmann::json difference(const nlohmann::json& ours, const nlohmann::json& other) {
  const double rank1 = std::abs(ours["rank1"].get<double>() - other["rank1"].get<double>());
  const double map = std::abs(ours["mAP"].get<double>() - other["mAP"].get<double>());
  return {{"rank1_difference", rank1}, {"mAP_difference", map},
          {"agree", rank1 <= kAgreement && map <= kAgreement},
          {"bitwise_equal", rank1 == 0 && map == 0}};
}

/// This machine's MemAvailable in bytes; 0 where /proc does not tell.
double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);)
    if (line.rfind("MemAvailable:", 0) == 0) return std::stod(line.substr(13)) * 1024.0;
  return 0;
}

/// Why numpy's re-ranking cannot run here, if it cannot: it holds the N × N distances, their
/// normalised copy, V and the argsort (int64, then int32) at once, about 24 bytes × N², as
/// measured: 8537 MB at Market's size (N = 19281: 24 N² is 8507 MiB, and the interpreter 57).
std::optional<std::string> numpy_rerank_unaffordable(const Sizes& sizes) {
  const double n = static_cast<double>(sizes.queries + sizes.gallery);
  const double needed = 24 * n * n, available = available_memory_bytes();
  if (available == 0 || needed < available) return std::nullopt;
  return fmt::format("torchreid's numpy re_ranking holds about 24 bytes x N^2 = {:.0f} GB here "
                     "(N = {}), more than the {:.0f} GB available",
                     needed / 1e9, sizes.queries + sizes.gallery, available / 1e9);
}

// --- the benchmark --------------------------------------------------------------------------

/// Starts the contenders: fgreid's parts (this binary again) and the numpy peer.
struct Contenders {
  std::string self, peer, folder;
  nlohmann::json fgreid(const std::string& part, const std::string& device) const {
    return run_child(fmt::format("{} --part {} --data {} --device {}", self, part, folder, device));
  }
  nlohmann::json numpy(const std::string& part) const {
    return run_child(fmt::format("{} {} {}", peer, part, folder));
  }
};

double sum_of(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  double sum = 0;
  for (const char* key : keys) sum += j.value(key, 0.0);
  return sum;
}

/// On CUDA, the same part on the CPU, and how far the GPU's metrics are from its.
void add_cpu_check(nlohmann::json& section, const std::string& ours_key, const std::string& part,
                   const Config& config, const Contenders& run) {
  if (config.device == "cpu" || !config.cpu_check) return;
  section["fgreid_cpu"] = run.fgreid(part, "cpu");
  section["cuda_vs_cpu"] = difference(section[ours_key], section["fgreid_cpu"]);
}

nlohmann::json metrics_section(const Config& config, const Contenders& run) {
  const auto ours = run.fgreid("metrics", config.device);
  nlohmann::json section{{"fgreid", ours}};
  add_cpu_check(section, "fgreid", "metrics", config, run);
  if (!config.peer_metrics) {
    section["numpy"] = {{"skipped", "--skip-peer-metrics"}};
    return section;
  }
  const auto numpy = run.numpy("metrics");
  section["numpy"] = numpy;
  section["speedup_cmc_map"] =
      numpy["seconds_metrics"].get<double>() / ours["seconds_metrics"].get<double>();
  section["speedup_total"] = sum_of(numpy, {"seconds_distances", "seconds_metrics"}) /
                             ours["seconds_total"].get<double>();
  section["peak_ratio"] = ours["peak_rss_mb"].get<double>() / numpy["peak_rss_mb"].get<double>();
  section["fgreid_vs_numpy"] = difference(ours, numpy);
  return section;
}

nlohmann::json rerank_section(const Config& config, const Sizes& sizes, const Contenders& run) {
  const auto ours = run.fgreid("rerank", config.device);
  nlohmann::json section{{"fgreid_from_features", ours}};
  add_cpu_check(section, "fgreid_from_features", "rerank", config, run);
  if (const auto unaffordable = numpy_rerank_unaffordable(sizes)) {
    section["numpy"] = {{"skipped", *unaffordable}};
    section["fgreid_dense"] = {{"skipped", "it serves the comparison with numpy's re-ranking, "
                                           "and its dense matrices would be N^2 floats too"}};
    return section;
  }
  const auto dense = run.fgreid("rerank-dense", config.device);
  section["fgreid_dense"] = dense;
  if (!config.peer_rerank) {
    section["numpy"] = {{"skipped", "--skip-peer-rerank"}};
    return section;
  }
  const auto numpy = run.numpy("rerank");
  section["numpy"] = numpy;
  section["speedup_from_features"] =
      sum_of(numpy, {"seconds_distances", "seconds_rerank"}) / ours["seconds_rerank"].get<double>();
  section["speedup_rerank_only"] =
      numpy["seconds_rerank"].get<double>() / dense["seconds_rerank"].get<double>();
  section["peak_ratio_from_features"] =
      ours["peak_rss_mb"].get<double>() / numpy["peak_rss_mb"].get<double>();
  section["peak_ratio_dense"] = dense["peak_rss_mb"].get<double>() / numpy["peak_rss_mb"].get<double>();
  section["fgreid_vs_numpy"] = difference(ours, numpy);
  return section;
}

/// Whether every `comparison` the sections hold has `verdict` ("agree" or "bitwise_equal").
bool all_of(const nlohmann::json& result, std::initializer_list<const char*> comparisons,
            const char* verdict) {
  bool all = true;
  for (const char* section : {"metrics", "rerank"})
    for (const char* comparison : comparisons)
      if (result[section].contains(comparison))
        all = all && result[section][comparison][verdict].get<bool>();
  return all;
}

/// The chosen split (--msmt17, or --queries/--gallery) scaled by --scale; --identities wins.
Sizes sizes_of(const Config& config) {
  if (config.queries.has_value() != config.gallery.has_value())
    throw std::invalid_argument("--queries and --gallery go together");
  Sizes base = config.base;
  if (config.queries) {  // as many images per identity as Market's gallery has
    base = {.queries = *config.queries, .gallery = *config.gallery,
            .identities = std::lround(static_cast<double>(*config.gallery) * kMarket.identities /
                                      static_cast<double>(kMarket.gallery))};
  }
  if (!(config.scale > 0)) throw std::invalid_argument("--scale must be positive");
  auto scaled = [&](std::int64_t count) {
    return std::max<std::int64_t>(1, std::lround(static_cast<double>(count) * config.scale));
  };
  return {.queries = scaled(base.queries), .gallery = scaled(base.gallery),
          .identities = std::max<std::int64_t>(2, config.identities.value_or(scaled(base.identities))),
          .dims = config.dims};
}

/// Removes the features' folder however the run ends (at MSMT17's size it holds 770 MB).
struct RemovedAtExit {
  fs::path folder;
  ~RemovedAtExit() {
    std::error_code ignored;
    fs::remove_all(folder, ignored);
  }
};

nlohmann::json run_benchmark(const Config& config) {
  (void)device_of(config.device);  // a missing GPU is an error before any work
  const Sizes sizes = sizes_of(config);
  const RemovedAtExit data{fs::temp_directory_path() / fmt::format("bench_eval_{}", ::getpid())};
  fs::create_directories(data.folder);
  generate(data.folder, sizes);
  const Contenders run{
      .self = fs::read_symlink("/proc/self/exe").string(),
      .peer = fmt::format("{} {}", FGREID_PYTHON,
                          (fs::path(__FILE__).parent_path() / "eval_peer.py").string()),
      .folder = data.folder.string()};
  nlohmann::json result{{"bench", "eval"},          {"device", config.device},
                        {"queries", sizes.queries}, {"gallery", sizes.gallery},
                        {"identities", sizes.identities}, {"dims", sizes.dims},
                        {"scale", config.scale},    {"threads", torch::get_num_threads()}};
  result["metrics"] = metrics_section(config, run);
  result["rerank"] = rerank_section(config, sizes, run);
  result["seconds"] = {
      {"distances_metrics", result["metrics"]["fgreid"]["seconds_total"]},
      {"rerank_metrics", result["rerank"]["fgreid_from_features"]["seconds_total"]}};
  result["agree"] = all_of(result, {"fgreid_vs_numpy", "cuda_vs_cpu"}, "agree");
  if (result["metrics"].contains("cuda_vs_cpu"))
    result["cuda_bitwise_equal_cpu"] = all_of(result, {"cuda_vs_cpu"}, "bitwise_equal");
  return result;
}

Config parse(int argc, char** argv) {
  using fgreid::bench::integer_flag;
  Config config;
  for (int k = 1; k < argc; ++k) {
    const std::string flag = argv[k];
    auto value = [&] {
      if (k + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return std::string(argv[++k]);
    };
    if (flag == "--part") config.part = value();
    else if (flag == "--data") config.data = value();
    else if (flag == "--device") config.device = value();
    else if (flag == "--msmt17") config.base = kMsmt17;
    else if (flag == "--queries") config.queries = integer_flag(flag, value(), 1);
    else if (flag == "--gallery") config.gallery = integer_flag(flag, value(), 1);
    else if (flag == "--identities") config.identities = integer_flag(flag, value(), 2);
    else if (flag == "--scale") config.scale = std::stod(value());
    else if (flag == "--dims") config.dims = integer_flag(flag, value(), 1);
    else if (flag == "--skip-peer-metrics") config.peer_metrics = false;
    else if (flag == "--skip-peer-rerank") config.peer_rerank = false;
    else if (flag == "--skip-cpu-check") config.cpu_check = false;
    else throw std::invalid_argument("unknown flag " + flag);
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Config config = parse(argc, argv);
    const auto result = config.part.empty() ? run_benchmark(config) : run_part(config);
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "bench_eval: " << error.what() << '\n';
    return 1;
  }
}
