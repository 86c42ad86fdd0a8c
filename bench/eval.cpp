// bench_eval: fgreid's evaluation against the numpy paths of torchreid, at Market-1501 scale
// (3368 queries × 15913 gallery images, 2048-D features with identity structure).
//
//   bench_eval [--scale S] [--dims D] [--skip-peer-rerank]
//
// Writes the features to a temporary folder, then runs every contender as its own process so
// that each peak resident memory (VmHWM, read by the process itself) is its own:
//   (a) metrics: squared-Euclidean distances + CMC/mAP — fgreid (LibTorch matmul +
//       evaluate_market) vs numpy + torchreid's eval_market1501;
//   (b) re-ranking — fgreid from the features (no N² matrix anywhere), fgreid on the dense
//       distance matrices torchreid's API takes, and numpy + torchreid's re_ranking.
// Prints one JSON line: each contender's seconds, peak MB and metrics, and the ratios.
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/rerank.hpp>
#include <fgreid/eval/suite.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "support.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
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

/// Features with identity structure: an identity centre N(0, 1) per dimension plus image noise
/// N(0, 4²) — hard enough that rank-1 is far from 1. Cameras 1..6 at random. Distractor-free:
/// every gallery image belongs to one of the identities.
void generate(const fs::path& folder, std::int64_t nq, std::int64_t ng, std::int64_t dims,
              std::int64_t identities) {
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
  auto query = read_binary<float>(folder / "query.f32");
  auto gallery = read_binary<float>(folder / "gallery.f32");
  data.query = torch::from_blob(query.data(), {nq, dims}).clone();
  data.gallery = torch::from_blob(gallery.data(), {ng, dims}).clone();
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

std::vector<float> floats_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

/// One contender, in this process: prints its JSON line.
nlohmann::json run_part(const std::string& part, const fs::path& folder) {
  torch::NoGradGuard no_grad;
  const Data data = load(folder);
  nlohmann::json out;
  auto start = Clock::now();
  ev::Metrics metrics;
  if (part == "metrics") {
    const auto distances = ev::pairwise_distances(data.query, data.gallery, ev::Metric::euclidean);
    out["seconds_distances"] = seconds_since(start);
    start = Clock::now();
    metrics = metrics_of(data, {distances.data_ptr<float>(), static_cast<std::size_t>(distances.numel())});
    out["seconds_metrics"] = seconds_since(start);
  } else if (part == "rerank") {  // from the features: distances and re-ranking together
    const ev::FeatureRerankSource source(data.query, data.gallery, ev::Metric::euclidean);
    out["seconds_source"] = seconds_since(start);
    const auto distances = ev::rerank(source, {});
    out["seconds_rerank"] = seconds_since(start);
    start = Clock::now();
    metrics = metrics_of(data, distances);
    out["seconds_metrics"] = seconds_since(start);
  } else if (part == "rerank-dense") {  // torchreid's API: three distance matrices in memory
    auto euclidean = [](const torch::Tensor& a, const torch::Tensor& b) {
      return floats_of(ev::pairwise_distances(a, b, ev::Metric::euclidean).sqrt_());
    };
    const auto qg = euclidean(data.query, data.gallery);
    const auto qq = euclidean(data.query, data.query);
    const auto gg = euclidean(data.gallery, data.gallery);
    out["seconds_distances"] = seconds_since(start);
    start = Clock::now();
    const ev::DenseRerankSource source(qg, qq, gg, data.query_pids.size(), data.gallery_pids.size());
    const auto distances = ev::rerank(source, {});
    out["seconds_rerank"] = seconds_since(start);
    metrics = metrics_of(data, distances);
  } else {
    throw std::invalid_argument("--part: expected metrics, rerank or rerank-dense");
  }
  out["rank1"] = metrics.cmc[0];
  out["mAP"] = metrics.mAP;
  out["peak_rss_mb"] = peak_rss_mb();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string part, folder_arg;
    double scale = 1.0;
    std::int64_t dims = 2048;
    bool peer_rerank = true;
    for (int k = 1; k < argc; ++k) {
      const std::string flag = argv[k];
      auto value = [&] {
        if (k + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
        return std::string(argv[++k]);
      };
      if (flag == "--part") part = value();
      else if (flag == "--data") folder_arg = value();
      else if (flag == "--scale") scale = std::stod(value());
      else if (flag == "--dims") dims = std::stoll(value());
      else if (flag == "--skip-peer-rerank") peer_rerank = false;
      else throw std::invalid_argument("unknown flag " + flag);
    }
    if (!part.empty()) {
      std::cout << run_part(part, folder_arg).dump() << std::endl;
      return 0;
    }

    const auto nq = static_cast<std::int64_t>(std::lround(3368 * scale));
    const auto ng = static_cast<std::int64_t>(std::lround(15913 * scale));
    const auto identities = std::max<std::int64_t>(2, std::lround(751 * scale));
    const fs::path folder = fs::temp_directory_path() / fmt::format("bench_eval_{}", ::getpid());
    fs::create_directories(folder);
    generate(folder, nq, ng, dims, identities);

    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const std::string peer = fmt::format("{} {}", FGREID_PYTHON,
                                         (fs::path(__FILE__).parent_path() / "eval_peer.py").string());
    nlohmann::json result{{"bench", "eval"},
                          {"queries", nq},
                          {"gallery", ng},
                          {"dims", dims},
                          {"scale", scale},
                          {"threads", torch::get_num_threads()}};
    const auto ours_metrics = run_child(fmt::format("{} --part metrics --data {}", self, folder.string()));
    const auto numpy_metrics = run_child(fmt::format("{} metrics {}", peer, folder.string()));
    result["metrics"] = {{"fgreid", ours_metrics}, {"numpy", numpy_metrics}};
    const auto total = [](const nlohmann::json& j, std::initializer_list<const char*> keys) {
      double sum = 0;
      for (const char* key : keys) sum += j.value(key, 0.0);
      return sum;
    };
    result["metrics"]["speedup_cmc_map"] =
        numpy_metrics["seconds_metrics"].get<double>() / ours_metrics["seconds_metrics"].get<double>();
    result["metrics"]["speedup_total"] =
        total(numpy_metrics, {"seconds_distances", "seconds_metrics"}) /
        total(ours_metrics, {"seconds_distances", "seconds_metrics"});
    result["metrics"]["peak_ratio"] =
        ours_metrics["peak_rss_mb"].get<double>() / numpy_metrics["peak_rss_mb"].get<double>();

    const auto ours_rerank = run_child(fmt::format("{} --part rerank --data {}", self, folder.string()));
    const auto ours_dense = run_child(fmt::format("{} --part rerank-dense --data {}", self, folder.string()));
    result["rerank"] = {{"fgreid_from_features", ours_rerank}, {"fgreid_dense", ours_dense}};
    if (peer_rerank) {
      const auto numpy_rerank = run_child(fmt::format("{} rerank {}", peer, folder.string()));
      result["rerank"]["numpy"] = numpy_rerank;
      const double numpy_total = total(numpy_rerank, {"seconds_distances", "seconds_rerank"});
      result["rerank"]["speedup_from_features"] =
          numpy_total / ours_rerank["seconds_rerank"].get<double>();
      result["rerank"]["speedup_rerank_only"] =
          numpy_rerank["seconds_rerank"].get<double>() / ours_dense["seconds_rerank"].get<double>();
      result["rerank"]["peak_ratio_from_features"] =
          ours_rerank["peak_rss_mb"].get<double>() / numpy_rerank["peak_rss_mb"].get<double>();
      result["rerank"]["peak_ratio_dense"] =
          ours_dense["peak_rss_mb"].get<double>() / numpy_rerank["peak_rss_mb"].get<double>();
    }
    fs::remove_all(folder);
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "bench_eval: " << error.what() << '\n';
    return 1;
  }
}
