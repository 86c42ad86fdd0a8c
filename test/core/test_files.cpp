// Files the engine writes: atomic replacement that survives a failed write, the temporary files
// a killed writer leaves, and the log a resumed run trims.
#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

#include <fstream>
#include <iterator>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Limits the size of files this process writes (as `ulimit -f` does) for its lifetime.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limited = previous_;
    limited.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &previous_); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit previous_{};
};

/// The pid of a process that has ended (a child, reaped).
pid_t ended_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace

TEST_CASE("a write that fails (file-size limit) names the file and the cause, and keeps the old file") {
  fgreid::test::TempDir dir;
  const auto path = dir / "last.pt";
  fgreid::write_file_atomically(path, "the previous checkpoint");
  const std::string big(256 * 1024, 'x');
  {
    FileSizeLimit limit(64 * 1024);
    CHECK_THROWS_WITH_AS(fgreid::write_file_atomically(path, big),
                         doctest::Contains((path.string() + ": cannot write the file (writing: File too large); "
                                            "the previous one is intact").c_str()),
                         fgreid::DataError);
  }
  CHECK(read_text(path) == "the previous checkpoint");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);  // no temporary left
  fgreid::write_file_atomically(path, big);  // with room again, it is replaced
  CHECK(read_text(path) == big);
}

TEST_CASE("a folder that cannot take the temporary file is an error naming the file") {
  fgreid::test::TempDir dir;
  const auto path = dir / "missing" / "config.json";
  CHECK_THROWS_WITH_AS(fgreid::write_file_atomically(path, "{}"),
                       doctest::Contains((path.string() + ": cannot write the file (cannot create a temporary "
                                          "file beside it: No such file or directory); nothing was written").c_str()),
                       fgreid::DataError);
}

TEST_CASE("temporary files of a killed writer are removed, those of a living one kept") {
  fgreid::test::TempDir dir;
  const auto dead = dir / ("last.pt.tmp-" + std::to_string(ended_pid()));
  const auto alive = dir / ("best.pt.tmp-" + std::to_string(::getpid()));
  const auto not_ours = dir / "notes.tmp-abc";
  for (const auto& path : {dead, alive, not_ours}) std::ofstream(path) << "x";
  CHECK(fgreid::remove_stale_temporaries(dir.path()) == 1);
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(alive));
  CHECK(std::filesystem::exists(not_ours));
}

TEST_CASE("a resumed run's log keeps what its checkpoint had seen, and an evaluation it repeats is dropped") {
  fgreid::test::TempDir dir;
  const auto log = dir / "log.jsonl";
  const auto write_log = [&] {
    std::ofstream(log) << R"({"global_iteration": 1, "loss": 3})" << "\n"
                       << R"({"global_iteration": 2, "loss": 2})" << "\n"
                       << R"({"evaluation": {"rank1": 0.5}, "global_iteration": 2})" << "\n"
                       << R"({"global_iteration": 3, "loss": 1})" << "\n"
                       << R"({"note": "no iteration"})" << "\n"
                       << R"({"global_iteration": 4, "lo)";  // cut by the kill
  };
  const auto records = [&] {
    std::vector<nlohmann::json> all;
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) all.push_back(nlohmann::json::parse(line));
    return all;
  };
  write_log();
  fgreid::JsonLog::trim_after(log, 2, /*evaluation_pending=*/false);
  auto kept = records();
  REQUIRE(kept.size() == 4);
  CHECK(kept[2].contains("evaluation"));
  CHECK(kept[3]["note"] == "no iteration");

  write_log();
  fgreid::JsonLog::trim_after(log, 2, /*evaluation_pending=*/true);
  kept = records();
  REQUIRE(kept.size() == 3);
  CHECK(kept[1]["global_iteration"] == 2);
  CHECK_FALSE(kept[1].contains("evaluation"));
}
