#pragma once
// What every harness shares: the fuzzer's bytes as a file (the readers take paths, as they do
// in a run), and the contract each reader is held to: bad bytes end in a DataError or
// UsageError, anything else (another exception, a crash, a sanitizer report, a hang, unbounded
// memory) is a finding.
#include <fgreid/error.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace fgreid::fuzz {

/// This process's scratch folder under $TMPDIR (or /tmp), removed at exit.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path folder = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto path = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") /
                ("fgreid-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] { std::filesystem::remove_all(scratch()); });
    return path;
  }();
  return folder;
}

/// `bytes` written to scratch()/name (replacing it).
inline std::filesystem::path write_file(std::string_view name, std::string_view bytes) {
  auto path = scratch() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

/// The fuzzer's input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Runs `read`, accepting the named errors a reader promises for bad input; any other
/// exception escapes the harness, which libFuzzer reports as a crash.
template <class Read>
void expect_clean_errors(Read&& read) {
  try {
    read();
  } catch (const DataError&) {
  } catch (const UsageError&) {
  }
}

}  // namespace fgreid::fuzz
