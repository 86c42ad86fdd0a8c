// A run's outputs survive what ends it: SIGKILL at random moments (during checkpoint writes
// too), a full disk, a folder that cannot be written, and a failure in the middle of the run.
// Issue 19 item 4 and 5.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include "support.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using fgreid::test::last_line;
using fgreid::test::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kBaseline = std::string(FGREID_BINARY_DIR) + "/recipe_baseline";
// Three epochs of five iterations, evaluated after the last (the synthetic profile's
// --eval-start). A kill finds the process starting, training, writing a checkpoint or evaluating.
constexpr int kEpochs = 3, kIterations = 5;
std::string run_flags(int epochs = kEpochs) {
  return fmt::format(" --device cpu --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2"
                     " --max-epoch {} --epoch-iterations {} --print-every 1 --test-batch 64"
                     " --warmup-epochs 1 --milestones 2",
                     epochs, kIterations);
}
// last.pt after every iteration: many kills land in its writes.
const std::string kRun = run_flags() + " --checkpoint-every 1it";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Starts `command` through the shell (which execs it, so the pid is the program's).
pid_t start(const std::string& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

/// The exit code once `pid` ends within `seconds`; nothing while it still runs.
std::optional<int> wait_for(pid_t pid, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  do {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < until);
  return std::nullopt;
}

/// Waits (up to a minute) until `pid` prints its first progress line to `err`; its exit code if
/// it ends first.
std::optional<int> wait_for_progress_line(pid_t pid, const fs::path& err) {
  for (int tick = 0; tick < 6000; ++tick) {
    if (const auto ended = wait_for(pid, 0.01)) return ended;
    if (read_text(err).find("] epoch ") != std::string::npos) return std::nullopt;
  }
  return std::nullopt;
}

/// The progress a checkpoint holds (its global iteration), reading it as --resume does.
std::int64_t checkpoint_iteration(const fs::path& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path.string());
  c10::IValue meta;
  REQUIRE(archive.try_read("fgreid.meta", meta));
  return nlohmann::json::parse(meta.toStringRef())["progress"]["iteration"].get<std::int64_t>();
}

struct LogLines {
  std::vector<nlohmann::json> records;
  bool torn_tail = false;  ///< a last line without its newline (the kill cut the write)
};

/// Every complete line of log.jsonl, each required to be a JSON object.
LogLines read_log(const fs::path& path) {
  LogLines log;
  const auto text = read_text(path);
  std::size_t begin = 0;
  for (auto end = text.find('\n'); end != std::string::npos; begin = end + 1, end = text.find('\n', begin)) {
    const auto line = text.substr(begin, end - begin);
    auto record = nlohmann::json::parse(line, nullptr, false);
    CHECK_MESSAGE(record.is_object(), path.string() << ": not a JSON line: " << line);
    log.records.push_back(std::move(record));
  }
  log.torn_tail = begin < text.size();
  return log;
}

std::vector<fs::path> temporaries(const fs::path& folder) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(entry.path());
  return found;
}

/// The training records' iterations, each once and in order, and each epoch evaluated once (the
/// last one again when a finished run was resumed: a kill after its last.pt, before metrics.json).
void check_finished_log(const fs::path& log) {
  std::vector<std::int64_t> iterations;
  std::set<int> evaluated;
  for (const auto& record : read_log(log).records) {
    if (record.contains("evaluation")) {
      const int epoch = record["evaluation"]["epoch"].get<int>();
      CHECK((evaluated.insert(epoch).second || epoch == kEpochs));
    } else if (record.contains("global_iteration")) {
      iterations.push_back(record["global_iteration"].get<std::int64_t>());
    }
  }
  std::vector<std::int64_t> expected(kEpochs * kIterations);
  std::iota(expected.begin(), expected.end(), 1);
  CHECK(iterations == expected);
  CHECK(evaluated == std::set<int>{kEpochs});
}

std::string metrics_of(const std::string& out) {
  auto metrics = nlohmann::json::parse(last_line(out));
  return fmt::format("{} {}", metrics["rank1"].get<double>(), metrics["mAP"].get<double>());
}

/// Runs `script` in its own mount namespace, as root there (unshare -rm), or as root here
/// (unshare -m): where a test mounts a small or read-only file system. False when neither may.
bool can_mount_privately() {
  return run_command("unshare -rm true").exit_code == 0 || run_command("unshare -m true").exit_code == 0;
}
std::string in_mount_namespace(const std::string& script) {
  const auto quoted = fmt::format("'{}'", script);
  return fmt::format("(unshare -rm sh -c {0} || unshare -m sh -c {0})", quoted);
}

}  // namespace

TEST_CASE("50 SIGKILLs at random moments: last.pt always loads, log.jsonl parses, --resume finishes the run" *
          doctest::timeout(1800)) {
  fgreid::test::TempDir dir;
  // The run uninterrupted: its metrics, and how long starting and an iteration take.
  const auto begun = std::chrono::steady_clock::now();
  const auto whole = run_command(kBaseline + kRun + " --output " + (dir / "whole").string());
  const double whole_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count();
  REQUIRE_MESSAGE(whole.exit_code == 0, whole.err);
  check_finished_log(dir / "whole" / "log.jsonl");

  // An iteration with its checkpoint, from the log (each window's images/s counts the
  // checkpoint written after the previous iteration).
  std::vector<double> iteration_seconds;
  for (const auto& record : read_log(dir / "whole" / "log.jsonl").records)
    if (record.contains("images_per_s")) iteration_seconds.push_back(8 / record["images_per_s"].get<double>());
  std::ranges::nth_element(iteration_seconds, iteration_seconds.begin() + iteration_seconds.size() / 2);
  const double iteration = iteration_seconds[iteration_seconds.size() / 2];

  std::mt19937 rng(19);
  // Every other kill lands anywhere in the first quarter of a run (starting, loading, training,
  // evaluating); the others within two iterations of the first it trains, where checkpoints
  // are written.
  std::uniform_real_distribution<double> anywhere(0.05, whole_seconds / 4), in_training(0, 2 * iteration);
  int kills = 0, kills_in_writes = 0, torn_logs = 0, finished_runs = 0, resumed_ok = 0;
  int run_number = 0;
  auto folder = dir / fmt::format("killed-{}", run_number);
  std::int64_t kept = 0;  // the iteration the folder's last.pt holds
  while (kills < 50) {
    // Killed before its first checkpoint, a run has nothing to resume: it starts again.
    const bool resuming = fs::exists(folder / "last.pt");
    const auto err = dir / "stderr.txt";
    const pid_t pid = start(kBaseline + kRun + (resuming ? " --resume " : " --overwrite --output ") + folder.string() +
                            " > " + (dir / "stdout.txt").string() + " 2> " + err.string());
    const bool aim_at_training = kills % 2 == 1;
    auto ended = aim_at_training ? wait_for_progress_line(pid, err) : std::nullopt;
    if (!ended) ended = wait_for(pid, aim_at_training ? in_training(rng) : anywhere(rng));
    if (ended) {  // it finished before the kill
      REQUIRE_MESSAGE(*ended == 0, read_text(err));
      CHECK(metrics_of(read_text(dir / "stdout.txt")) == metrics_of(whole.out));
      check_finished_log(folder / "log.jsonl");
      CHECK(temporaries(folder).empty());
      ++finished_runs;
      folder = dir / fmt::format("killed-{}", ++run_number);
      kept = 0;
      continue;
    }
    ::kill(pid, SIGKILL);
    REQUIRE(wait_for(pid, 60).has_value());
    ++kills;
    if (fs::exists(folder)) {
      const auto writing = std::ranges::any_of(temporaries(folder), [&](const fs::path& file) {
        return file.filename().string().ends_with(".tmp-" + std::to_string(pid));
      });
      if (writing) ++kills_in_writes;
      if (fs::exists(folder / "last.pt")) {
        const auto iteration = checkpoint_iteration(folder / "last.pt");
        CHECK_MESSAGE(iteration >= kept, "last.pt went back from iteration " << kept << " to " << iteration);
        kept = iteration;
        ++resumed_ok;
      }
      if (fs::exists(folder / "log.jsonl")) torn_logs += read_log(folder / "log.jsonl").torn_tail ? 1 : 0;
    }
  }
  // The last run, left alone, ends as the uninterrupted one did.
  const auto last = run_command(kBaseline + kRun +
                                (fs::exists(folder / "last.pt") ? " --resume " : " --overwrite --output ") +
                                folder.string());
  REQUIRE_MESSAGE(last.exit_code == 0, last.err);
  CHECK(metrics_of(last.out) == metrics_of(whole.out));
  check_finished_log(folder / "log.jsonl");
  CHECK(temporaries(folder).empty());
  MESSAGE(fmt::format("{} kills ({} while a file was being written, {} left a torn log line), each followed "
                      "by a loadable last.pt where one had been written ({}); {} runs finished between kills; "
                      "uninterrupted run {:.1f} s, an iteration with its checkpoint {:.2f} s",
                      kills, kills_in_writes, torn_logs, resumed_ok, finished_runs, whole_seconds, iteration));
  CHECK(kills == 50);
  CHECK(kills_in_writes > 0);  // the kills did reach checkpoint writes
}

TEST_CASE("a full disk while last.pt is written: a clear error, the previous last.pt intact, exit non-zero" *
          doctest::timeout(900)) {
  fgreid::test::TempDir dir;
  const auto run = dir / "run";
  const auto first = run_command("FGREID_INTERRUPT_AFTER_ITERATION=2 " + kBaseline + run_flags() +
                                 " --checkpoint-every 0 --output " + run.string());
  REQUIRE(first.exit_code == 130);
  const auto before = read_text(run / "last.pt");
  REQUIRE(before.size() > 1'000'000);
  const auto limit_kb = before.size() / 2048;  // room for half a checkpoint

  SUBCASE("a file-size limit (ulimit -f)") {
    const auto full = run_command(fmt::format("ulimit -f {}; {}{} --resume {}", limit_kb, kBaseline, kRun,
                                              run.string()));
    CHECK(full.exit_code == 1);
    CHECK_MESSAGE(last_line(full.err).starts_with("recipe_baseline: error: " + (run / "last.pt").string() +
                                                  ": cannot write the file (writing: File too large); the "
                                                  "previous one is intact"),
                  full.err);
    CHECK(read_text(run / "last.pt") == before);
    CHECK(temporaries(run).empty());
    const auto resumed = run_command(kBaseline + kRun + " --resume " + run.string());
    CHECK_MESSAGE(resumed.exit_code == 0, resumed.err);
  }
  SUBCASE("a small file system (tmpfs)") {
    REQUIRE_MESSAGE(can_mount_privately(), "neither unshare -rm nor unshare -m may mount here");
    // The folder is copied into a tmpfs with room for the old checkpoint and half a new one;
    // what is left there is checked inside the namespace, which ends with the script.
    const auto disk = dir / "disk";
    fs::create_directories(disk);
    const auto script = fmt::format(
        "mount -t tmpfs -o size={size}k tmpfs {disk} && cp -a {run}/. {disk}/ && "
        "{{ {recipe}{flags} --resume {disk} 2> {err}; echo $? > {code}; "
        "cmp -s {disk}/last.pt {run}/last.pt && echo intact > {state}; ls {disk} > {listing}; }}",
        fmt::arg("size", before.size() * 3 / 2 / 1024), fmt::arg("disk", disk.string()),
        fmt::arg("run", run.string()), fmt::arg("recipe", kBaseline), fmt::arg("flags", kRun),
        fmt::arg("err", (dir / "err").string()), fmt::arg("code", (dir / "code").string()),
        fmt::arg("state", (dir / "state").string()), fmt::arg("listing", (dir / "listing").string()));
    const auto full = run_command(in_mount_namespace(script));
    REQUIRE_MESSAGE(full.exit_code == 0, full.err);
    CHECK(std::stoi(read_text(dir / "code")) == 1);
    CHECK_MESSAGE(last_line(read_text(dir / "err"))
                      .starts_with("recipe_baseline: error: " + (disk / "last.pt").string() +
                                   ": cannot write the file (writing: No space left on device); the previous "
                                   "one is intact"),
                  read_text(dir / "err"));
    CHECK(read_text(dir / "state") == "intact\n");
    CHECK(read_text(dir / "listing").find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("an output folder that cannot be written is refused before training starts" * doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  const auto output = dir / "readonly";
  fs::create_directories(output);
  std::string command = kBaseline + kRun + " --output " + output.string();
  if (::geteuid() == 0) {  // root writes through permissions: a read-only mount instead
    REQUIRE_MESSAGE(can_mount_privately(), "as root, only a read-only mount can refuse writes");
    command = in_mount_namespace(fmt::format("mount --bind {0} {0} && mount -o remount,bind,ro {0} && {1}",
                                             output.string(), command));
  } else {
    fs::permissions(output, fs::perms::owner_read | fs::perms::owner_exec);
  }
  const auto refused = run_command(command);
  fs::permissions(output, fs::perms::owner_all);
  CHECK(refused.exit_code == 1);
  CHECK_MESSAGE(last_line(refused.err).starts_with("recipe_baseline: error: " + (output / "config.json").string() +
                                                   ": cannot write the file (cannot create a temporary file beside "
                                                   "it: "),
                refused.err);
  CHECK(refused.err.find("epoch 1/") == std::string::npos);  // no training line
  CHECK(fs::is_empty(output));
}

namespace {
/// A copy of the synthetic Market-1501 tree in `root`, to damage.
void copy_synthetic_market(const fs::path& root) {
  const auto summary = run_command(kBaseline + " --summary 2>&1 | grep 'synthetic .* data at'");
  const auto at = summary.out.find(" data at ");
  REQUIRE(at != std::string::npos);
  const auto source = fs::path(summary.out.substr(at + 9, summary.out.find('\n', at) - at - 9));
  fs::copy(source, root, fs::copy_options::recursive);
}
}  // namespace

TEST_CASE("a test image that fails at the first evaluation: last.pt first, then --resume evaluates the epoch" *
          doctest::timeout(600)) {
  fgreid::test::TempDir dir;
  // The synthetic Market-1501 tree, copied, with one gallery image emptied.
  const auto root = dir / "market";
  copy_synthetic_market(root);
  fs::path emptied;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.path().parent_path().filename() == "bounding_box_test" && entry.path().extension() == ".jpg") {
      emptied = entry.path();
      break;
    }
  REQUIRE_FALSE(emptied.empty());
  const auto image = read_text(emptied);
  std::ofstream(emptied, std::ios::trunc).close();

  const auto flags = run_flags(1) + " --checkpoint-every 0 --data-root " + root.string();
  const auto failed = run_command(kBaseline + flags + " --output " + (dir / "run").string());
  CHECK(failed.exit_code == 1);
  CHECK_MESSAGE(last_line(failed.err).find(emptied.string()) != std::string::npos, failed.err);
  CHECK(last_line(failed.err).find("holds epoch 1 iteration " + std::to_string(kIterations)) != std::string::npos);
  REQUIRE(fs::exists(dir / "run" / "last.pt"));
  CHECK(checkpoint_iteration(dir / "run" / "last.pt") == kIterations);

  std::ofstream(emptied, std::ios::binary | std::ios::trunc) << image;  // fixed
  const auto resumed = run_command(kBaseline + flags + " --resume " + (dir / "run").string());
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(resumed.err.find("epoch 1/1") == std::string::npos);  // nothing trained again
  CHECK(resumed.err.find("evaluation after epoch 1") != std::string::npos);
}

TEST_CASE("a second Ctrl-C while last.pt is being written quits at once and leaves no temporary file" *
          doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  const auto output = dir / "run";
  // The first Ctrl-C comes from the engine itself after iteration 2 and starts the write of
  // last.pt; the second comes from here, as soon as the temporary file appears.
  const pid_t pid = start("env FGREID_INTERRUPT_AFTER_ITERATION=2 " + kBaseline + run_flags() +
                          " --checkpoint-every 0 --output " + output.string() + " 2> " + (dir / "err").string());
  const auto temporary = output / ("last.pt.tmp-" + std::to_string(pid));
  std::optional<int> ended;
  bool seen = false;
  for (int tick = 0; tick < 120000 && !ended && !seen; ++tick) {
    seen = fs::exists(temporary);
    if (!seen) ended = wait_for(pid, 0.0005);
  }
  REQUIRE_MESSAGE(seen, "the run ended (" << ended.value_or(-1) << ") before its last.pt write was seen: "
                                          << read_text(dir / "err"));
  ::kill(pid, SIGINT);
  ended = wait_for(pid, 60);
  REQUIRE(ended.has_value());
  CHECK(*ended == 130);
  CHECK(read_text(dir / "err").find("interrupted twice") != std::string::npos);
  CHECK(temporaries(output).empty());
  CHECK_FALSE(fs::exists(output / "last.pt"));
}

TEST_CASE("a training image that fails mid-epoch: last.pt at the iteration before, then --resume finishes" *
          doctest::timeout(600)) {
  fgreid::test::TempDir dir;
  const auto root = dir / "market";
  copy_synthetic_market(root);
  // Every third identity's training images emptied: some batch of the first epoch draws one.
  std::map<fs::path, std::string> emptied;
  for (const auto& entry : fs::directory_iterator(root / "Market-1501-v15.09.15" / "bounding_box_train")) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".jpg" && std::stoi(name.substr(0, 4)) % 3 == 0) {
      emptied[entry.path()] = read_text(entry.path());
      std::ofstream(entry.path(), std::ios::trunc).close();
    }
  }
  REQUIRE_FALSE(emptied.empty());
  const auto flags = run_flags(2) + " --checkpoint-every 0 --data-root " + root.string();
  const auto failed = run_command(kBaseline + flags + " --output " + (dir / "run").string());
  CHECK(failed.exit_code == 1);
  const auto message = last_line(failed.err);
  CHECK_MESSAGE(std::ranges::any_of(emptied, [&](const auto& file) { return message.find(file.first.string()) != std::string::npos; }),
                failed.err);
  const auto holds = message.find("holds epoch 1 iteration ");
  REQUIRE_MESSAGE(holds != std::string::npos, failed.err);
  const auto done = std::stoll(message.substr(holds + 24));
  REQUIRE(fs::exists(dir / "run" / "last.pt"));
  CHECK(checkpoint_iteration(dir / "run" / "last.pt") == done);

  for (const auto& [path, bytes] : emptied) std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const auto resumed = run_command(kBaseline + flags + " --resume " + (dir / "run").string());
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(resumed.err.find(fmt::format("resuming {} at epoch 1 iteration {}", (dir / "run" / "last.pt").string(), done)) !=
        std::string::npos);
}
