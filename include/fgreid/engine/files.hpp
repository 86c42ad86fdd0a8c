#pragma once
#include <filesystem>
#include <string_view>

namespace fgreid {

/// Writes `contents` to `path` through a temporary file in the same folder and a rename, so a
/// crash or Ctrl-C leaves either the old file or the new one, never half of one.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace fgreid
