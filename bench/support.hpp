#pragma once
// Helpers shared by the benchmarks: timing, this process's peak memory, and running a
// contender (a Python peer, or this binary again) as its own process for its JSON line.
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

namespace fgreid::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// This process's peak resident memory (VmHWM) in MB; -1 where /proc does not tell.
inline double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

/// `text` as a whole number of at least `least`; says which flag was wrong otherwise (std::stoll
/// alone would say only "stoll", and would read "8x" as 8).
inline std::int64_t integer_flag(const std::string& flag, const std::string& text, std::int64_t least) {
  std::size_t used = 0;
  std::int64_t number = 0;
  try {
    number = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw std::invalid_argument(flag + " needs a whole number, not '" + text + "'");
  if (number < least)
    throw std::invalid_argument(flag + " must be at least " + std::to_string(least) + ", not " + text);
  return number;
}

/// Runs `command` (logged on stderr after `bench`, the benchmark's name) and parses the last
/// line of its stdout as JSON; throws when it cannot start or fails.
inline nlohmann::json run_for_json(const std::string& bench, const std::string& command) {
  std::fprintf(stderr, "%s: %s\n", bench.c_str(), command.c_str());
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string output;
  std::array<char, 4096> buffer{};
  while (const auto n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  if (::pclose(pipe) != 0) throw std::runtime_error(command + " failed:\n" + output);
  const auto end = output.find_last_not_of('\n');
  const auto begin = output.rfind('\n', end);
  return nlohmann::json::parse(output.substr(begin == std::string::npos ? 0 : begin + 1));
}

}  // namespace fgreid::bench
