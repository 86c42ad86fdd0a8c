#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>

namespace fgreid {

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  auto temporary = path;
  temporary += fmt::format(".tmp-{}", ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw DataError(fmt::format("{}: cannot write the file", path.string()));
    }
  }
  std::filesystem::rename(temporary, path);
}

}  // namespace fgreid

namespace fgreid {

JsonLog::JsonLog(const std::filesystem::path& path) : out_(path, std::ios::app) {
  if (!out_) throw DataError(fmt::format("{}: cannot open the log for writing", path.string()));
}

void JsonLog::write(const nlohmann::json& record) { out_ << record.dump() << '\n' << std::flush; }

void JsonLog::trim_after(const std::filesystem::path& path, std::int64_t iteration) {
  std::ifstream in(path);
  if (!in) return;  // nothing logged yet
  std::string kept, line;
  bool trimmed = false;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool later = record.is_object() && record.contains("global_iteration") &&
                       record["global_iteration"].is_number() &&
                       record["global_iteration"].get<std::int64_t>() > iteration;
    if (record.is_discarded() || !record.is_object() || later) {
      trimmed = true;
      continue;
    }
    kept += line + '\n';
  }
  if (trimmed) write_file_atomically(path, kept);
}

}  // namespace fgreid
