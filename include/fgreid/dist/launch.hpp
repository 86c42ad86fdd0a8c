#pragma once
// Where this process stands among the ranks torchrun started: the environment it sets for each
// worker (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT). Without
// WORLD_SIZE a recipe runs alone, as it always did.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace fgreid::dist {

struct Launch {
  int rank = 0;
  int local_rank = 0;
  int world_size = 1;
  int local_world_size = 1;
  std::string master_addr;
  int master_port = 0;
  /// torchrun's agent hosts the rendezvous store (TORCHELASTIC_USE_AGENT_STORE=True): every
  /// rank is its client; otherwise rank 0 hosts it.
  bool agent_hosts_store = false;
  /// TORCHELASTIC_RESTART_COUNT: keys of an earlier attempt in a long-lived store are not reused.
  int restart = 0;
};

/// Reads an environment variable ("" when unset); tests pass their own.
using Environment = std::function<std::optional<std::string>(const std::string&)>;
[[nodiscard]] Environment process_environment();

/// The launch torchrun described, or nullopt when WORLD_SIZE is unset (a process on its own).
/// A variable that is missing or malformed is a UsageError naming it.
[[nodiscard]] std::optional<Launch> launch_from(const Environment& environment);

}  // namespace fgreid::dist
