#include "child_process.hpp"

#include <fgreid/error.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define FGREID_CHILD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FGREID_CHILD_SANITIZED 1
#endif
#endif
#ifdef FGREID_CHILD_SANITIZED
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace fgreid::detail {

namespace {

/// How the child's message begins: what became of `read`.
/// (sanitizer_report: only in a build with ASan, a report on code this program compiled.)
enum class Outcome : char {
  result = 'R',
  data_error = 'D',
  usage_error = 'U',
  out_of_memory = 'M',
  other = 'E',
  sanitizer_report = 'S',
};

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

std::string read_all(int fd) {
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const auto got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;  // a Ctrl-C the parent handles later
    if (got <= 0) return bytes;
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
}

/// The address space this process has mapped now, in bytes (/proc/self/statm's first field).
std::size_t mapped_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

#ifdef FGREID_CHILD_SANITIZED
// Under ASan (scripts/check-sanitizers, the fuzzers) a child can also end in a sanitizer's
// report. A refused allocation (a hostile size over the child's limit, asked by libhdf5) is the
// file's fault: out_of_memory. Any other report is a bug in code this program compiled: the
// parent makes it its own crash, so that the suite and the fuzzers see it.
namespace sanitized {

int message_fd = -1;
bool refused_allocation = false;

extern "C" void on_report(const char* report) {
  refused_allocation = std::strstr(report, "SUMMARY: AddressSanitizer: allocation-size-too-big") != nullptr ||
                       std::strstr(report, "SUMMARY: AddressSanitizer: out-of-memory") != nullptr;
}

extern "C" void on_death() {
  const auto outcome = static_cast<char>(refused_allocation ? Outcome::out_of_memory : Outcome::sanitizer_report);
  (void)write_all(message_fd, {&outcome, 1});
}

/// The child's callbacks, and its reports written beside the program's (log_path) as
/// <log_path>.reader-child.<pid>, which scripts/check-sanitizers tells apart.
void prepare_child(int fd) {
  message_fd = fd;
  __asan_set_error_report_callback(on_report);
  __sanitizer_set_death_callback(on_death);  // replaces the fuzzer's, which would save a crash
  const char* options = std::getenv("ASAN_OPTIONS");
  const std::string_view text = options != nullptr ? options : "";
  const auto start = text.find("log_path=");
  if (start == std::string_view::npos) return;
  const auto value = text.substr(start + 9, text.find_first_of(": ", start) - start - 9);
  __sanitizer_set_report_path((std::string(value) + ".reader-child").c_str());
}

}  // namespace sanitized
#endif

/// The child's side: limits, `read`, the message, exit. Never returns.
[[noreturn]] void run_child(int fd, pid_t parent, const std::function<std::string()>& read,
                            std::size_t memory_bytes) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a parent quit by a second Ctrl-C takes the child along
  if (::getppid() != parent) ::_exit(1);
  // The parent answers Ctrl-C; a crash leaves no core file of a stranger's data behind.
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGTERM, SIG_IGN);
  // A crash here is the parent's to report: the handlers the program installed (a test
  // framework's, a sanitizer's) would report it as the program's own.
  for (const int crash : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) std::signal(crash, SIG_DFL);
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  // Address space, not resident memory: what libhdf5 reserves for a hostile heap size fails
  // at once instead of being touched page by page. The inherited mappings (LibTorch, CUDA's
  // reservations, a sanitizer's shadow) stay allowed.
  const auto limit = static_cast<rlim_t>(mapped_bytes() + memory_bytes);
  const rlimit address_space{limit, limit};
  ::setrlimit(RLIMIT_AS, &address_space);
#ifdef FGREID_CHILD_SANITIZED
  sanitized::prepare_child(fd);
#endif
  std::string message(1, static_cast<char>(Outcome::result));
  try {
    message += read();
  } catch (const DataError& error) {
    message = std::string(1, static_cast<char>(Outcome::data_error)) + error.what();
  } catch (const UsageError& error) {
    message = std::string(1, static_cast<char>(Outcome::usage_error)) + error.what();
  } catch (const std::bad_alloc&) {
    message = std::string(1, static_cast<char>(Outcome::out_of_memory));
  } catch (const std::exception& error) {
    message = std::string(1, static_cast<char>(Outcome::other)) + error.what();
  }
  // _exit: the parent's atexit work (LibTorch's, a checkpoint's cleanup) is not the child's.
  ::_exit(write_all(fd, message) ? 0 : 1);
}

/// Why a child ended without its message, for the parent's error.
std::string how_it_ended(int status) {
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return fmt::format("crashed (signal SIG{})", name != nullptr ? name : std::to_string(WTERMSIG(status)));
  }
  return fmt::format("stopped (exit status {})", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/// The parent's side: `message` as a result, or the error it stands for.
std::string what_the_child_sent(const std::filesystem::path& file, std::string_view reader,
                                const std::string& message, int status, std::size_t memory_bytes) {
  const auto outcome = message.empty() ? Outcome::other : static_cast<Outcome>(message[0]);
  if (outcome == Outcome::sanitizer_report) {
    std::fprintf(stderr, "fgreid: a sanitizer reported on fgreid's own code in the child process reading %s "
                         "(the report is above, or in the sanitizer's log as *.reader-child.*)\n", file.c_str());
    std::abort();
  }
  if (outcome == Outcome::out_of_memory)
    throw DataError(fmt::format("{}: {} needed more than {} MiB reading this file: it is damaged or hostile",
                                file.string(), reader, memory_bytes >> 20));
  if (message.empty() || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw DataError(fmt::format("{}: {} {} reading this file: it is damaged or hostile", file.string(), reader,
                                how_it_ended(status)));
  const auto body = std::string_view(message).substr(1);
  switch (outcome) {
    case Outcome::result: return std::string(body);
    case Outcome::data_error: throw DataError(std::string(body));
    case Outcome::usage_error: throw UsageError(std::string(body));
    default: break;
  }
  throw DataError(fmt::format("{}: {} failed reading this file ({})", file.string(), reader, body));
}

}  // namespace

std::string read_in_child(const std::filesystem::path& file, std::string_view reader,
                          const std::function<std::string()>& read, std::size_t memory_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw DataError(fmt::format("{}: cannot open a pipe to read it in a child process ({})", file.string(),
                                std::strerror(errno)));
  const auto parent = ::getpid();
  const auto child = ::fork();
  if (child < 0) {
    const int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw DataError(fmt::format("{}: cannot start a child process to read it ({})", file.string(),
                                std::strerror(error)));
  }
  if (child == 0) {
    ::close(fds[0]);
    run_child(fds[1], parent, read, memory_bytes);
  }
  ::close(fds[1]);
  const auto message = read_all(fds[0]);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return what_the_child_sent(file, reader, message, status, memory_bytes);
}

}  // namespace fgreid::detail
