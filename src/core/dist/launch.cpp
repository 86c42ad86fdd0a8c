#include <fgreid/dist/launch.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace fgreid::dist {

namespace {

int integer_variable(const Environment& environment, const std::string& name, int low, int high) {
  const auto text = environment(name);
  if (!text)
    throw UsageError(fmt::format("{} is not set: a recipe under torchrun needs RANK, LOCAL_RANK, "
                                 "WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT",
                                 name));
  int value = 0;
  const auto* end = text->data() + text->size();
  const auto [last, error] = std::from_chars(text->data(), end, value);
  if (error != std::errc{} || last != end || text->empty() || value < low || value > high)
    throw UsageError(fmt::format("{}={}: must be a whole number from {} to {}", name, *text, low, high));
  return value;
}

}  // namespace

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::optional<Launch> launch_from(const Environment& environment) {
  if (!environment("WORLD_SIZE")) return std::nullopt;
  constexpr int kMostRanks = 1 << 20;
  Launch launch;
  launch.world_size = integer_variable(environment, "WORLD_SIZE", 1, kMostRanks);
  launch.rank = integer_variable(environment, "RANK", 0, launch.world_size - 1);
  launch.local_world_size = integer_variable(environment, "LOCAL_WORLD_SIZE", 1, launch.world_size);
  launch.local_rank = integer_variable(environment, "LOCAL_RANK", 0, launch.local_world_size - 1);
  launch.master_port = integer_variable(environment, "MASTER_PORT", 1, 65535);
  launch.master_addr = environment("MASTER_ADDR").value_or("");
  if (launch.master_addr.empty())
    throw UsageError("MASTER_ADDR is not set: the address of the rendezvous (rank 0's machine)");
  launch.agent_hosts_store = environment("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  if (environment("TORCHELASTIC_RESTART_COUNT"))
    launch.restart = integer_variable(environment, "TORCHELASTIC_RESTART_COUNT", 0, kMostRanks);
  return launch;
}

}  // namespace fgreid::dist
