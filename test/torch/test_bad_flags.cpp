// Bad flag values stop a recipe before any work: exit 2, one line naming the flag, and no
// output folder made (issue 19's probe: --test-batch 0 hung in evaluation, --height 0 left a
// stub folder, --lr nan trained to NaN and exited 0).
#include <doctest/doctest.h>

#include "support.hpp"

#include <filesystem>
#include <string>

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
                        {"--epoch-iterations -1", "--epoch-iterations -1: must be 0 or more"}};
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
