#pragma once
// What every harness shares: the fuzzer's bytes as a file (the readers take paths, as they do
// in a run), and the contract each reader is held to: bad bytes end in a DataError or
// UsageError, anything else (another exception, a crash, a sanitizer report, a hang, unbounded
// memory) is a finding.
#include <fgreid/error.hpp>

#include "../src/core/detail/child_process.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

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

extern "C" {
// libFuzzer's inline 8-bit coverage counters of this binary (the linker defines the bounds).
extern std::uint8_t __start___sancov_cntrs[] __attribute__((weak));
extern std::uint8_t __stop___sancov_cntrs[] __attribute__((weak));
}

/// Coverage of a reader run in a child process (detail::read_in_child): the child's counters
/// live in its own copy of memory, which libFuzzer never sees. The child saves them into a
/// shared mapping; the parent takes the larger of each pair back into its own.
class ChildCoverage {
 public:
  ChildCoverage() {
    if (size_ == 0) return;
    void* shared = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shared_ = shared == MAP_FAILED ? nullptr : static_cast<std::uint8_t*>(shared);
  }
  /// detail::read_in_child(file, reader, read), the child's coverage counted however it ends.
  template <class Read>
  std::string read_in_child(const std::filesystem::path& file, std::string_view reader, Read read) const {
    const Finally merge_after{[this] { merge(); }};
    return detail::read_in_child(file, reader, [&] {
      const Finally save_after{[this] { save(); }};
      return read();
    });
  }

 private:
  template <class F>
  struct Finally {  // runs f when the scope ends, by return or by exception
    explicit Finally(F f) : f(std::move(f)) {}
    ~Finally() { f(); }
    F f;
  };
  void save() const {  // in the child
    if (shared_ != nullptr) std::memcpy(shared_, __start___sancov_cntrs, size_);
  }
  void merge() const {  // in the parent, after the child ended
    if (shared_ == nullptr) return;
    for (std::size_t i = 0; i < size_; ++i)
      __start___sancov_cntrs[i] = std::max(__start___sancov_cntrs[i], shared_[i]);
    std::memset(shared_, 0, size_);
  }

  std::size_t size_ = static_cast<std::size_t>(__stop___sancov_cntrs - __start___sancov_cntrs);
  std::uint8_t* shared_ = nullptr;
};

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
