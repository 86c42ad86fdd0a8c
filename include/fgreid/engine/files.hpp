#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace fgreid {

/// Writes `contents` to `path` through a temporary file in the same folder (`path`.tmp-<pid>),
/// synced to disk before the rename, so a crash, a kill or a power cut leaves either the old
/// file or the new one, never half of one. A failed write (a full disk, a file-size limit) is a
/// DataError naming `path` and the cause; the temporary file is removed and the old file kept.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

/// For a signal handler that exits at once (a second Ctrl-C): unlinks the temporary file
/// write_file_atomically is writing, if any. Async-signal-safe.
void remove_unfinished_temporary() noexcept;

/// Removes the `*.tmp-<pid>` files in `folder` that a killed writer left (its process is gone);
/// returns how many.
int remove_stale_temporaries(const std::filesystem::path& folder);

/// Appends one JSON object per line, flushed each time, so a killed run keeps its log.
class JsonLog {
 public:
  /// DataError naming `path` when it cannot be opened for appending.
  explicit JsonLog(const std::filesystem::path& path);
  /// Before a resumed run appends: drops the records of iterations after `iteration` (a killed
  /// run logged past its last checkpoint, and the resumed one logs them again), an
  /// "evaluation" record at `iteration` itself when `evaluation_pending` (the checkpoint was
  /// written before that evaluation, which the resumed run repeats), and a line cut by the
  /// kill, rewriting `path` atomically. Records without "global_iteration" are kept.
  static void trim_after(const std::filesystem::path& path, std::int64_t iteration, bool evaluation_pending);
  /// DataError naming the log when the line cannot be written (a full disk).
  void write(const nlohmann::json& record);

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace fgreid
