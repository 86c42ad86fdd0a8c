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

}  // namespace fgreid
