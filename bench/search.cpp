// bench_search: fgreid_search's streamed exact top-K against numpy's brute force, on a gallery
// of random 2048-D features written to disk as .npy.
//
//   bench_search [--gallery N] [--queries Q] [--dims D] [--top-k K] [--block-rows B]
//                [--device auto|cpu|cuda]
//
// Writes the gallery (N × D float32, generated a block at a time: 10^6 × 2048 is 8 GB) and the
// queries to a temporary folder, then runs each contender as its own process so that each peak
// resident memory (VmHWM) is its own: (a) fgreid's search_top_k, streaming the gallery file in
// blocks, on the device; (b) numpy (bench/search_peer.py): the gallery memory-mapped, the
// distances of a block of rows at a time by one BLAS product, argpartition per block and a
// merge, which is how numpy keeps 10^6 × 2048 within memory at all. Prints one JSON line:
// seconds, peak MB, the agreement of the two top-K lists, and the ratios.
#include <fgreid/engine/run.hpp>
#include <fgreid/eval/npy.hpp>
#include <fgreid/eval/search.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include "support.hpp"

#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace ev = fgreid::eval;
using fgreid::bench::Clock;
using fgreid::bench::peak_rss_mb;
using fgreid::bench::seconds_since;

struct Config {
  std::int64_t gallery = 100000, queries = 100, dims = 2048, top_k = 10, block_rows = 65536;
  std::string device = "auto";
  std::string part;
  fs::path data;
};

void write_random(const fs::path& file, std::int64_t rows, std::int64_t dims, std::uint64_t seed) {
  torch::manual_seed(seed);
  ev::NpyWriter writer(file, rows, dims);
  for (std::int64_t first = 0; first < rows; first += 65536) {
    const auto block = torch::randn({std::min<std::int64_t>(65536, rows - first), dims});
    writer.append(std::span<const float>(block.data_ptr<float>(), static_cast<std::size_t>(block.numel())));
  }
  writer.commit();
}

nlohmann::json run_search(const Config& config) {
  const auto device = fgreid::engine::select_device(
      config.device == "cpu" ? fgreid::engine::DeviceChoice::cpu
      : config.device == "cuda" ? fgreid::engine::DeviceChoice::cuda : fgreid::engine::DeviceChoice::automatic);
  ev::NpyReader query_file(config.data / "query.npy"), gallery(config.data / "gallery.npy");
  auto query = torch::empty({query_file.rows(), query_file.cols()});
  query_file.read(0, std::span<float>(query.data_ptr<float>(), static_cast<std::size_t>(query.numel())));
  const auto start = Clock::now();
  const auto best = ev::search_top_k(query, gallery, config.top_k, ev::Metric::euclidean, device, config.block_rows);
  const double seconds = seconds_since(start);
  std::vector<std::vector<std::int64_t>> indices;
  for (std::int64_t q = 0; q < best.indices.size(0); ++q) {
    const auto row = best.indices[q].contiguous();
    indices.emplace_back(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
  }
  return {{"seconds", seconds}, {"peak_rss_mb", peak_rss_mb()}, {"device", device.str()},
          {"threads", torch::get_num_threads()}, {"indices", indices}};
}

Config parse(int argc, char** argv) {
  Config config;
  for (int k = 1; k < argc; ++k) {
    const std::string flag = argv[k];
    auto value = [&] {
      if (k + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return std::string(argv[++k]);
    };
    if (flag == "--gallery") config.gallery = std::stoll(value());
    else if (flag == "--queries") config.queries = std::stoll(value());
    else if (flag == "--dims") config.dims = std::stoll(value());
    else if (flag == "--top-k") config.top_k = std::stoll(value());
    else if (flag == "--block-rows") config.block_rows = std::stoll(value());
    else if (flag == "--device") config.device = value();
    else if (flag == "--part") config.part = value();
    else if (flag == "--data") config.data = value();
    else throw std::invalid_argument("unknown flag " + flag);
  }
  return config;
}

/// The fraction of (query, rank) places where both lists hold the same gallery index.
double agreement(const nlohmann::json& a, const nlohmann::json& b) {
  std::int64_t same = 0, total = 0;
  for (std::size_t q = 0; q < a.size(); ++q)
    for (std::size_t k = 0; k < a[q].size(); ++k, ++total) same += a[q][k] == b[q][k] ? 1 : 0;
  return total == 0 ? 0.0 : static_cast<double>(same) / static_cast<double>(total);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    auto config = parse(argc, argv);
    if (config.part == "search") {
      std::cout << run_search(config).dump() << std::endl;
      return 0;
    }
    const fs::path folder = fs::temp_directory_path() / fmt::format("bench_search_{}", ::getpid());
    fs::create_directories(folder);
    const auto generate_start = Clock::now();
    write_random(folder / "gallery.npy", config.gallery, config.dims, 1);
    write_random(folder / "query.npy", config.queries, config.dims, 2);
    std::fprintf(stderr, "bench_search: %lld × %lld gallery written in %.1f s\n",
                 static_cast<long long>(config.gallery), static_cast<long long>(config.dims),
                 seconds_since(generate_start));
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const std::string peer = fmt::format("{} {}", FGREID_PYTHON,
                                         (fs::path(__FILE__).parent_path() / "search_peer.py").string());
    const auto args = fmt::format("--data {} --top-k {} --block-rows {}", folder.string(), config.top_k,
                                  config.block_rows);
    auto ours = fgreid::bench::run_for_json(
        "bench_search", fmt::format("{} --part search --device {} {}", self, config.device, args));
    auto numpy = fgreid::bench::run_for_json("bench_search", fmt::format("{} {}", peer, args));
    const double agree = agreement(ours["indices"], numpy["indices"]);
    ours.erase("indices");
    numpy.erase("indices");
    fs::remove_all(folder);
    const nlohmann::json result{{"bench", "search"},
                                {"gallery", config.gallery},
                                {"queries", config.queries},
                                {"dims", config.dims},
                                {"top_k", config.top_k},
                                {"block_rows", config.block_rows},
                                {"fgreid", ours},
                                {"numpy", numpy},
                                {"topk_agreement", agree},
                                {"speedup", numpy["seconds"].get<double>() / ours["seconds"].get<double>()},
                                {"peak_ratio", ours["peak_rss_mb"].get<double>() / numpy["peak_rss_mb"].get<double>()}};
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "bench_search: " << error.what() << '\n';
    return 1;
  }
}
