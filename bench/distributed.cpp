// bench_distributed: the cost of going data-parallel on one machine. A recipe trains the same
// global batch three ways in one invocation, and the images/s of each are compared:
//   alone      one process, no process group, every thread;
//   one_rank   one rank through c10d (WORLD_SIZE=1): the buckets, their hooks and the
//              per-step stop check, with nothing to exchange;
//   ranks      N ranks on the backend (Gloo on the CPU, NCCL on GPUs), the threads split.
//
//   bench_distributed [--recipe baseline] [--device cpu|cuda] [--ranks 2] [--threads T]
//                     [--iterations 30] [--warmup 5] [--height 128] [--width 64]
//                     [--batch-p 8] [--batch-k 4] [--sync-bn]
//
// Prints one JSON line: the median images/s over the iterations after --warmup of each run,
// their ratios to `alone`, and what the ranks all-reduced per step (bytes, buckets, and how many
// buckets went out while backward was still running). On a one-GPU machine --ranks 1 --device
// cuda gives "one NCCL rank against no process group".
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/support.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

struct Settings {
  std::string recipe = "baseline", device = "cpu";
  int ranks = 2, threads = 0, iterations = 30, warmup = 5, height = 128, width = 64, batch_p = 8, batch_k = 4;
  bool sync_bn = false;
};

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--recipe") s.recipe = value();
    else if (flag == "--device") s.device = value();
    else if (flag == "--ranks") s.ranks = std::stoi(value());
    else if (flag == "--threads") s.threads = std::stoi(value());
    else if (flag == "--iterations") s.iterations = std::stoi(value());
    else if (flag == "--warmup") s.warmup = std::stoi(value());
    else if (flag == "--height") s.height = std::stoi(value());
    else if (flag == "--width") s.width = std::stoi(value());
    else if (flag == "--batch-p") s.batch_p = std::stoi(value());
    else if (flag == "--batch-k") s.batch_k = std::stoi(value());
    else if (flag == "--sync-bn") s.sync_bn = true;
    else throw std::invalid_argument("unknown flag " + flag);
  }
  if (s.ranks < 1 || s.iterations <= s.warmup) throw std::invalid_argument("--ranks >= 1 and --iterations > --warmup");
  if (s.threads == 0) s.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return s;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// The recipe's flags for `threads` threads, writing into `output`.
std::string flags(const Settings& s, int threads, const fs::path& output) {
  return fmt::format("--device {} --threads {} --workers 2 --height {} --width {} --batch-p {} --batch-k {} "
                     "--max-epoch 1 --epoch-iterations {} --print-every 1 --warmup-epochs 0 --milestones 5 "
                     "--test-batch 256 {} --output {}",
                     s.device, threads, s.height, s.width, s.batch_p, s.batch_k, s.iterations,
                     s.sync_bn ? "--sync-bn" : "", output.string());
}

/// Runs `ranks` processes (none: one without torchrun's variables) and returns its log records.
std::vector<nlohmann::json> train(const Settings& s, const fs::path& binary, const fs::path& output, int ranks) {
  fs::remove_all(output);
  std::string script;
  if (ranks == 0) {
    script = fmt::format("{} {} >/dev/null 2>{}.err", binary.string(), flags(s, s.threads, output), output.string());
  } else {
    script = fmt::format("export WORLD_SIZE={0} LOCAL_WORLD_SIZE={0} MASTER_ADDR=127.0.0.1 MASTER_PORT={1}\n", ranks,
                         free_port());
    for (int r = 0; r < ranks; ++r)
      script += fmt::format("RANK={0} LOCAL_RANK={0} {1} {2} >/dev/null 2>{3}.{0}.err & pid{0}=$!\n", r,
                            binary.string(), flags(s, std::max(1, s.threads / ranks), output), output.string());
    for (int r = 0; r < ranks; ++r) script += fmt::format("wait $pid{} || exit 1\n", r);
  }
  const auto script_file = output.string() + ".sh";
  std::ofstream(script_file) << script;
  fmt::print(stderr, "bench_distributed: {} process(es) of {}\n", std::max(ranks, 1), binary.filename().string());
  if (std::system(("bash " + script_file).c_str()) != 0)
    throw std::runtime_error("a run failed: see " + output.string() + ".*err");
  std::vector<nlohmann::json> records;
  std::ifstream log(output / "log.jsonl");
  for (std::string line; std::getline(log, line);)
    if (auto record = nlohmann::json::parse(line); record.contains("images_per_s")) records.push_back(record);
  return records;
}

double median_rate(const std::vector<nlohmann::json>& records, int warmup) {
  std::vector<double> rates;
  for (const auto& record : records)
    if (record["global_iteration"].get<int>() > warmup) rates.push_back(record["images_per_s"].get<double>());
  if (rates.empty()) throw std::runtime_error("no iterations after the warm-up in log.jsonl");
  std::ranges::nth_element(rates, rates.begin() + static_cast<std::ptrdiff_t>(rates.size() / 2));
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto s = parse(argc, argv);
    const auto binary = fs::read_symlink("/proc/self/exe").parent_path() / ("recipe_" + s.recipe);
    const auto scratch = fs::temp_directory_path() / fmt::format("fgreid-bench-distributed-{}", ::getpid());
    fs::create_directories(scratch);
    const auto alone = train(s, binary, scratch / "alone", 0);
    const auto one_rank = train(s, binary, scratch / "one_rank", 1);
    const auto ranks = train(s, binary, scratch / "ranks", s.ranks);
    fs::remove_all(scratch);
    const double alone_rate = median_rate(alone, s.warmup), one_rank_rate = median_rate(one_rank, s.warmup),
                 ranks_rate = median_rate(ranks, s.warmup);
    const auto& last = ranks.back();
    nlohmann::json result{{"bench", "distributed"},
                          {"recipe", s.recipe},
                          {"device", s.device},
                          {"height", s.height},
                          {"width", s.width},
                          {"global_batch", s.batch_p * s.batch_k},
                          {"threads", s.threads},
                          {"ranks", s.ranks},
                          {"sync_bn", s.sync_bn},
                          {"alone_images_per_s", alone_rate},
                          {"one_rank_images_per_s", one_rank_rate},
                          {"ranks_images_per_s", ranks_rate},
                          {"one_rank_vs_alone", one_rank_rate / alone_rate},
                          {"ranks_vs_alone", ranks_rate / alone_rate},
                          {"allreduce_bytes_per_step", last.value("allreduce_bytes", 0)},
                          {"buckets", last.value("buckets", 0)},
                          {"buckets_during_backward", last.value("buckets_during_backward", 0)}};
    std::puts(result.dump().c_str());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_distributed: error: %s\n", error.what());
    return 1;
  }
}
