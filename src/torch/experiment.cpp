#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/dist/world.hpp>
#include <fgreid/experiment.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace fgreid::detail {

void set_threads(int threads) {
  if (threads < 0) throw UsageError(fmt::format("--threads {}: must be >= 0 (0 = every core)", threads));
  // Under torchrun the ranks of one machine share its cores.
  const auto launch = dist::launch_from(dist::process_environment());
  const int ranks_here = launch ? launch->local_world_size : 1;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads > 0 ? threads : std::max(1, cores / ranks_here));
}

std::filesystem::path synthetic_data_root(
    std::string_view dataset_name, const std::function<void(const std::filesystem::path&)>& write) {
  std::string key;
  for (char c : dataset_name)
    if (std::isalnum(static_cast<unsigned char>(c))) key += static_cast<char>(std::tolower(c));
  key += "-v1";
  auto root = datasets::ensure_synthetic(key, write);
  fmt::print(stderr, "[fgreid] synthetic {} data at {}\n", dataset_name, root.string());
  return root;
}

int report_error(std::string_view program, const std::exception& error, int code) {
  std::string message = error.what();
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error))
    message = torch_error->what_without_backtrace();
  message = message.substr(0, message.find('\n'));
  const auto& world = dist::world();
  if (!world.distributed()) {
    fmt::print(stderr, "{}: error: {}\n", program, message);
    return code;
  }
  // The process group's threads may wait on a rank that is gone: leave without unwinding them
  // (torchrun sees the exit code and stops or restarts the others).
  fmt::print(stderr, "{} (rank {}): error: {}\n", program, world.rank(), message);
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(code);
}

}  // namespace fgreid::detail

namespace fgreid::detail {

void print_summary(const datasets::Splits& splits, Modality modality) {
  const auto summary = modality == Modality::video ? datasets::summarize_video(splits)
                                                   : datasets::summarize(splits);
  std::puts(summary.dump().c_str());
}

}  // namespace fgreid::detail
