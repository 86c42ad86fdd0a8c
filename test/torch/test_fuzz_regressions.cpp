// Every input with which a fuzz harness (fuzz/, scripts/fuzz) crashed, hung, leaked or
// over-allocated a LibTorch-side reader, kept as found under test/data/fuzz/<harness>/: each
// must now end in a DataError that names the file. An input is the harness's, byte for byte
// (`build-fuzz/fuzz/fuzz_<harness> test/data/fuzz/<harness>/<input>` replays it), so that
// its first byte picks the mode as there (fuzz/torch_archive.hpp).
#include <fgreid/error.hpp>
#include <fgreid/eval/features_file.hpp>
#include <fgreid/models/weights.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/torch_archive.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;

/// The kept inputs of `harness`, sorted by name.
std::vector<fs::path> kept_inputs(const std::string& harness) {
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::directory_iterator(fs::path(FGREID_SOURCE_DIR) / "test/data/fuzz" / harness))
    inputs.push_back(entry.path());
  std::ranges::sort(inputs);
  return inputs;
}

/// The file that the harness input `input` stands for, written into `dir`.
fs::path as_file(const fs::path& input, const fgreid::test::TempDir& dir) {
  std::ifstream in(input, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto file = dir / (input.filename().string() + ".pt");
  const auto contents = fgreid::fuzz::torch_file_bytes(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  std::ofstream(file, std::ios::binary).write(contents.data(), static_cast<std::streamsize>(contents.size()));
  return file;
}

/// Runs `read` on the file of each kept input of `harness`: a DataError starting with the
/// file's path is the only acceptable outcome.
template <class Read>
void each_refused(const std::string& harness, Read&& read) {
  const auto inputs = kept_inputs(harness);
  REQUIRE_FALSE(inputs.empty());
  for (const auto& input : inputs) {
    fgreid::test::TempDir dir;
    const auto file = as_file(input, dir);
    INFO("input: ", input.string());
    std::string message;
    try {
      read(file);
    } catch (const fgreid::DataError& error) {
      message = error.what();
    }
    CHECK(message.starts_with(file.string() + ": "));
    CHECK(message.find('\n') == std::string::npos);
  }
}

}  // namespace

TEST_CASE("fuzzed weights files that crashed, leaked or over-allocated the reader are DataErrors") {
  // self-containing-list: a memoized list appended to itself (leaked: a shared_ptr cycle);
  // nested-200000-deep: TUPLE1 applied 200000 times (the destructors overflowed the stack).
  each_refused("pickle", [](const fs::path& file) { (void)fgreid::models::read_state_dict(file); });
}

TEST_CASE("fuzzed features files that over-allocated the reader are DataErrors") {
  // Through torch::pickle_load each claimed a string of ~4 GB in a file of < 3 KB.
  each_refused("features", [](const fs::path& file) { (void)fgreid::eval::load_features(file); });
}
