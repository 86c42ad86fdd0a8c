#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fstream>

namespace fgreid {

namespace {

/// A file-size limit (ulimit -f) would kill the process with SIGXFSZ in the middle of a write,
/// with no message and no cleanup; ignored, the write fails with EFBIG and is reported like a
/// full disk.
void report_file_size_limits_as_errors() {
  static const bool ignored = (std::signal(SIGXFSZ, SIG_IGN), true);
  (void)ignored;
}

/// The temporary file being written, for remove_unfinished_temporary (a signal handler): a
/// fixed buffer, since the handler may neither allocate nor lock.
std::array<char, 4096> unfinished{};
std::atomic<bool> unfinished_set{false};

class UnfinishedTemporary {
 public:
  explicit UnfinishedTemporary(const std::filesystem::path& path) {
    const auto& text = path.native();
    if (text.size() >= unfinished.size() || unfinished_set.load()) return;
    std::memcpy(unfinished.data(), text.c_str(), text.size() + 1);
    unfinished_set = owner_ = true;
  }
  ~UnfinishedTemporary() {
    if (owner_) unfinished_set = false;
  }
  UnfinishedTemporary(const UnfinishedTemporary&) = delete;
  UnfinishedTemporary& operator=(const UnfinishedTemporary&) = delete;

 private:
  bool owner_ = false;
};

[[noreturn]] void refuse_write(const std::filesystem::path& path, const std::filesystem::path& temporary,
                               int error, std::string_view what) {
  std::error_code ignored;
  std::filesystem::remove(temporary, ignored);
  throw DataError(fmt::format("{}: cannot write the file ({}: {}); {}", path.string(), what,
                              std::strerror(error),
                              std::filesystem::exists(path, ignored) ? "the previous one is intact"
                                                                      : "nothing was written"));
}

/// Writes all of `contents` to `fd` and makes it durable; errno of the first failure, or 0.
int write_durably(int fd, std::string_view contents) {
  while (!contents.empty()) {
    const auto written = ::write(fd, contents.data(), contents.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    contents.remove_prefix(static_cast<std::size_t>(written));
  }
  return ::fsync(fd) == 0 ? 0 : errno;
}

/// The folder's entry for a renamed file survives a power cut only once the folder is synced.
void sync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  report_file_size_limits_as_errors();
  auto temporary = path;
  temporary += fmt::format(".tmp-{}", ::getpid());
  UnfinishedTemporary registered(temporary);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) refuse_write(path, temporary, errno, "cannot create a temporary file beside it");
  const int error = write_durably(fd, contents);
  const int closed = ::close(fd) == 0 ? 0 : errno;
  if (error != 0 || closed != 0) refuse_write(path, temporary, error != 0 ? error : closed, "writing");
  if (::rename(temporary.c_str(), path.c_str()) != 0) refuse_write(path, temporary, errno, "renaming");
  sync_folder(path.parent_path());
}

void remove_unfinished_temporary() noexcept {
  if (unfinished_set.load()) (void)::unlink(unfinished.data());
}

int remove_stale_temporaries(const std::filesystem::path& folder) {
  int removed = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const auto name = entry.path().filename().string();
    const auto at = name.rfind(".tmp-");
    if (at == std::string::npos || !entry.is_regular_file(error)) continue;
    const auto digits = std::string_view(name).substr(at + 5);
    pid_t pid = 0;
    const auto [end, parsed] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (parsed != std::errc{} || end != digits.data() + digits.size() || pid <= 0) continue;
    const bool writer_gone = ::kill(pid, 0) != 0 && errno == ESRCH;
    if (writer_gone && std::filesystem::remove(entry.path(), error)) ++removed;
  }
  return removed;
}

}  // namespace fgreid

namespace fgreid {

JsonLog::JsonLog(const std::filesystem::path& path) : path_(path), out_(path, std::ios::app) {
  report_file_size_limits_as_errors();
  if (!out_) throw DataError(fmt::format("{}: cannot open the log for writing", path.string()));
}

void JsonLog::write(const nlohmann::json& record) {
  errno = 0;
  out_ << record.dump() << '\n' << std::flush;
  if (!out_)
    throw DataError(fmt::format("{}: cannot append to the log ({})", path_.string(),
                                errno != 0 ? std::strerror(errno) : "write failed"));
}

void JsonLog::trim_after(const std::filesystem::path& path, std::int64_t iteration, bool evaluation_pending) {
  std::ifstream in(path);
  if (!in) return;  // nothing logged yet
  std::string kept, line;
  bool trimmed = false;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool numbered = record.is_object() && record.contains("global_iteration") &&
                          record["global_iteration"].is_number();
    const auto at = numbered ? record["global_iteration"].get<std::int64_t>() : 0;
    const bool repeated = numbered && (at > iteration || (at == iteration && evaluation_pending &&
                                                          record.contains("evaluation")));
    if (record.is_discarded() || !record.is_object() || repeated) {
      trimmed = true;
      continue;
    }
    kept += line + '\n';
  }
  if (trimmed) write_file_atomically(path, kept);
}

}  // namespace fgreid
