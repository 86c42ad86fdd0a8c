// Bad flag values stop a recipe before any work: exit 2, one line naming the flag, and no
// output folder made (issue 19's probe: --test-batch 0 hung in evaluation, --height 0 left a
// stub folder, --lr nan trained to NaN and exited 0).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {
const std::string kRecipe = std::string(FGREID_BINARY_DIR) + "/recipe_baseline";
}  // namespace

TEST_CASE("a bad flag value exits 2 naming the flag, before any folder is made" * doctest::timeout(120)) {
  fgreid::test::TempDir dir;
  struct Case {
    std::string flags, message;
  };
  const Case cases[] = {{"--height 0", "--height 0: must be at least 16"},
                        {"--test-batch 0", "--test-batch 0: must be at least 1"},
                        {"--test-batch -1", "--test-batch -1: must be at least 1"},
                        {"--lr nan", "--lr nan: expected a finite number"},
                        {"--lr inf", "--lr inf: expected a finite number"},
                        {"--max-epoch 0", "--max-epoch 0: must be at least 1"},
                        {"--epoch-iterations -1", "--epoch-iterations -1: must be 0 or more"},
                        {"--checkpoint-every 30", "--checkpoint-every 30: must be <n>min, <n>it or 0"},
                        {"--batch-k 1000", "--batch-k 1000: no training identity has that many items"},
                        {"--config /", "--config /: is a folder, not an INI file"}};
  for (const auto& c : cases) {
    CAPTURE(c.flags);
    const auto output = dir / "run";
    const auto result = fgreid::test::run_command(kRecipe + " --threads 1 " + c.flags + " --output " +
                                                  output.string());
    CHECK(result.exit_code == 2);
    CHECK(result.err.find(c.message) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(output));
  }
}

namespace {

const std::string kTinyRun =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 1"
    " --epoch-iterations 1 --test-batch 64";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// The folder a run announced on stderr ("... output FOLDER").
std::string announced_output(const std::string& err) {
  const auto at = err.find(", output ");
  if (at == std::string::npos) return "";
  const auto start = at + std::string(", output ").size();
  return err.substr(start, err.find('\n', start) - start);
}

}  // namespace

TEST_CASE("an --output folder that holds another run is refused unless resumed or overwritten" *
          doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  const auto output = dir / "run";
  std::filesystem::create_directories(output);
  std::ofstream(output / "config.json") << R"({"recipe": "another"})" << "\n";
  std::ofstream(output / "log.jsonl") << R"({"another": true, "global_iteration": 1})" << "\n";
  std::ofstream(output / "epoch_7.pt") << "another run's model";
  const auto refused = fgreid::test::run_command(kRecipe + kTinyRun + " --output " + output.string());
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--output " + output.string() + ": holds another run") != std::string::npos);
  CHECK(read_text(output / "config.json").find("another") != std::string::npos);

  const auto replaced =
      fgreid::test::run_command(kRecipe + kTinyRun + " --overwrite --output " + output.string());
  CHECK_MESSAGE(replaced.exit_code == 0, replaced.err);
  CHECK(read_text(output / "config.json").find("another") == std::string::npos);
  CHECK(read_text(output / "log.jsonl").find("another") == std::string::npos);  // a new log, not appended to
  CHECK_FALSE(std::filesystem::exists(output / "epoch_7.pt"));

  const auto file = dir / "file";
  std::ofstream(file) << "x";
  const auto not_a_folder = fgreid::test::run_command(kRecipe + kTinyRun + " --output " + file.string());
  CHECK(not_a_folder.exit_code == 2);
  CHECK(not_a_folder.err.find("exists and is not a folder") != std::string::npos);
  const auto under_a_file =
      fgreid::test::run_command(kRecipe + kTinyRun + " --output " + (file / "run").string());
  CHECK(under_a_file.exit_code == 1);
  CHECK(under_a_file.err.find("cannot make the output folder") != std::string::npos);
}

TEST_CASE("default run folders never collide: a taken second gets -2" * doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  // Every second of the next minute is taken already, as by runs started a moment earlier.
  const auto parent = dir.path() / "runs" / "baseline";
  std::vector<std::string> taken;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  for (int second = 0; second < 60; ++second) {
    const std::time_t t = now + second;
    std::tm local{};
    ::localtime_r(&t, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    std::filesystem::create_directories(parent / stamp);
    taken.emplace_back(stamp);
  }
  const auto result = fgreid::test::run_command("cd " + dir.path().string() + " && " + kRecipe + kTinyRun);
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  const auto folder = std::filesystem::path(announced_output(result.err));
  CHECK(folder.parent_path() == std::filesystem::path("runs") / "baseline");
  CHECK(folder.filename().string().ends_with("-2"));
  CHECK(std::ranges::find(taken, folder.filename().string().substr(0, 15)) != taken.end());
  for (const auto& stamp : taken) CHECK(std::filesystem::is_empty(parent / stamp));
}

TEST_CASE("a loss that turns non-finite stops the run, naming the iteration, before anything diverged is written" *
          doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  const auto output = dir / "run";
  // A learning rate of 1e30 is finite, so the flag is accepted, and diverges in a step or two.
  const auto result = fgreid::test::run_command(
      kRecipe + " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 1"
                " --epoch-iterations 6 --print-every 3 --lr 1e30 --output " + output.string());
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("the loss was not finite at iteration") != std::string::npos);
  CHECK(result.err.find("ce=nan") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(output / "last.pt"));
  CHECK_FALSE(std::filesystem::exists(output / "best.pt"));
  CHECK_FALSE(std::filesystem::exists(output / "metrics.json"));
}

TEST_CASE("what a user would not expect is said: fp16 on the CPU, a resume with other flags" *
          doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  const auto output = dir / "run";
  const auto first = fgreid::test::run_command(kRecipe + kTinyRun + " --amp fp16 --output " + output.string());
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(first.err.find("--amp fp16 on the CPU") != std::string::npos);
  REQUIRE(std::filesystem::exists(output / "last.pt"));

  const auto resumed = fgreid::test::run_command(
      kRecipe + " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 2"
                " --epoch-iterations 1 --test-batch 64 --amp off --resume " + output.string());
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  const auto line = resumed.err.substr(resumed.err.find("with flags that differ from its run:"));
  CHECK(line.find("--max-epoch \"2\" (was \"1\")") != std::string::npos);
  CHECK(line.find("--amp \"off\" (was \"fp16\")") != std::string::npos);
  CHECK(line.substr(0, line.find('\n')).find("--lr") == std::string::npos);  // unchanged: not listed
  CHECK(resumed.err.find("--amp fp16 on the CPU") == std::string::npos);
}

TEST_CASE("a resumed run's log holds each iteration once: what a killed run logged past its checkpoint goes" *
          doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  const auto output = dir / "run";
  const auto first = fgreid::test::run_command(kRecipe + kTinyRun + " --print-every 1 --output " + output.string());
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  {  // as a run killed after its checkpoint leaves it: two later records and a line cut short
    std::ofstream log(output / "log.jsonl", std::ios::app);
    log << R"({"epoch":2,"iteration":1,"global_iteration":2,"loss":1.5})" << "\n"
        << R"({"epoch":2,"iteration":2,"global_iteration":3,"loss":1.4})" << "\n"
        << R"({"epoch":2,"iteration":3,"glob)";
  }
  const auto resumed = fgreid::test::run_command(
      kRecipe + " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --max-epoch 2"
                " --epoch-iterations 1 --test-batch 64 --print-every 1 --resume " + output.string());
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  std::ifstream log(output / "log.jsonl");
  std::vector<std::int64_t> iterations;
  int evaluations = 0;
  for (std::string line; std::getline(log, line);) {
    const auto record = nlohmann::json::parse(line);  // every line parses: the cut one is gone
    if (record.contains("evaluation")) ++evaluations;
    else iterations.push_back(record["global_iteration"].get<std::int64_t>());
  }
  CHECK(iterations == std::vector<std::int64_t>{1, 2});
  CHECK(evaluations == 2);
}

TEST_CASE("resuming a run that has finished tests its weights again instead of printing empty metrics" *
          doctest::timeout(300)) {
  fgreid::test::TempDir dir;
  const auto output = dir / "run";
  const auto first = fgreid::test::run_command(kRecipe + kTinyRun + " --output " + output.string());
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  const auto trained = nlohmann::json::parse(fgreid::test::last_line(first.out));
  const auto again = fgreid::test::run_command(kRecipe + kTinyRun + " --resume " + output.string());
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  const auto resumed = nlohmann::json::parse(fgreid::test::last_line(again.out));
  REQUIRE(resumed.contains("mAP"));
  CHECK(resumed["mAP"].get<double>() == doctest::Approx(trained["mAP"].get<double>()));
  CHECK(resumed["rank1"].get<double>() == doctest::Approx(trained["rank1"].get<double>()));
}
