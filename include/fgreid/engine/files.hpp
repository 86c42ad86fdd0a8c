#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>

namespace fgreid {

/// Writes `contents` to `path` through a temporary file in the same folder and a rename, so a
/// crash or Ctrl-C leaves either the old file or the new one, never half of one.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

/// Appends one JSON object per line, flushed each time, so a killed run keeps its log.
class JsonLog {
 public:
  /// DataError naming `path` when it cannot be opened for appending.
  explicit JsonLog(const std::filesystem::path& path);
  /// Before a resumed run appends: drops the records of iterations after `iteration` (a killed
  /// run logged past its last checkpoint, and the resumed one logs them again) and a line cut
  /// by the kill, rewriting `path` atomically. Records without "global_iteration" are kept.
  static void trim_after(const std::filesystem::path& path, std::int64_t iteration);
  void write(const nlohmann::json& record);

 private:
  std::ofstream out_;
};

}  // namespace fgreid
