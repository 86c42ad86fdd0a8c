// check_settings: every value no run can use is refused with a usage error naming the flag,
// and the defaults (what every recipe starts from) pass.
#include <fgreid/engine/settings.hpp>
#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <limits>
#include <string>

namespace {

using fgreid::engine::Settings;

/// The message check_settings gives for the defaults with `edit` applied ("" when it passes).
std::string refusal(const std::function<void(Settings&)>& edit) {
  Settings settings;
  edit(settings);
  try {
    fgreid::engine::check_settings(settings);
  } catch (const fgreid::UsageError& error) {
    return error.what();
  }
  return "";
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("the default settings pass") { CHECK(refusal([](Settings&) {}).empty()); }

TEST_CASE("sizes and counts no run can use are refused, naming the flag and the value") {
  struct Case {
    std::function<void(Settings&)> edit;
    std::string message;
  };
  const Case cases[] = {
      {[](Settings& s) { s.data.height = 0; }, "--height 0: must be at least 16"},
      {[](Settings& s) { s.data.width = -8; }, "--width -8: must be at least 16"},
      {[](Settings& s) { s.data.test_batch = 0; }, "--test-batch 0: must be at least 1"},
      {[](Settings& s) { s.data.test_batch = -1; }, "--test-batch -1: must be at least 1"},
      {[](Settings& s) { s.data.workers = -1; }, "--workers -1: must be 0 or more"},
      {[](Settings& s) { s.data.prefetch = 0; }, "--prefetch 0: must be at least 1"},
      {[](Settings& s) { s.train.max_epoch = 0; }, "--max-epoch 0: must be at least 1"},
      {[](Settings& s) { s.train.epoch_iterations = -1; }, "--epoch-iterations -1: must be 0 or more"},
      {[](Settings& s) { s.train.eval_every = 0; }, "--eval-every 0: must be at least 1"},
      {[](Settings& s) { s.train.print_every = 0; }, "--print-every 0: must be at least 1"},
      {[](Settings& s) { s.train.milestones = {70, 40}; }, "--milestones 70,40: must be epochs"},
      {[](Settings& s) { s.train.milestones = {0}; }, "--milestones 0: must be epochs"},
      {[](Settings& s) { s.eval.max_rank = 0; }, "--max-rank 0: must be at least 1"},
      {[](Settings& s) { s.run.threads = -2; }, "--threads -2: must be 0 or more"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    CHECK(refusal(c.edit).starts_with(c.message));
  }
}

TEST_CASE("rates that are not positive finite numbers are refused") {
  CHECK(refusal([](Settings& s) { s.train.lr = kNaN; }).starts_with("--lr nan: must be a positive finite"));
  CHECK(refusal([](Settings& s) { s.train.lr = kInfinity; }).starts_with("--lr inf:"));
  CHECK(refusal([](Settings& s) { s.train.lr = 0; }).starts_with("--lr 0:"));
  CHECK(refusal([](Settings& s) { s.train.weight_decay = -1e-4; }).starts_with("--weight-decay -0.0001:"));
  CHECK(refusal([](Settings& s) { s.train.weight_decay = 0; }).empty());
  CHECK(refusal([](Settings& s) { s.train.gamma = kNaN; }).starts_with("--gamma nan:"));
  CHECK(refusal([](Settings& s) { s.train.warmup_factor = 0; }).starts_with("--warmup-factor 0:"));
  CHECK(refusal([](Settings& s) { s.train.momentum = 1; }).starts_with("--momentum 1:"));
}

TEST_CASE("the evaluation suite's own rules are checked with the rest") {
  CHECK(refusal([](Settings& s) { s.rerank.k1 = 0; }).starts_with("--k1 0:"));
}

TEST_CASE("--checkpoint-every: minutes, iterations or 0, and nothing else") {
  using fgreid::engine::parse_checkpoint_every;
  CHECK(parse_checkpoint_every("30min").minutes == 30);
  CHECK(parse_checkpoint_every("30min").iterations == 0);
  CHECK(parse_checkpoint_every("0.5min").minutes == 0.5);
  CHECK(parse_checkpoint_every("2000it").iterations == 2000);
  CHECK(parse_checkpoint_every("2000it").minutes == 0);
  const auto off = parse_checkpoint_every("0");
  CHECK((off.minutes == 0 && off.iterations == 0));
  for (const char* bad : {"30", "min", "it", "-5min", "0min", "1.5it", "nanmin", "infmin", "5 min", "5h", "1e300it"}) {
    CAPTURE(bad);
    CHECK(refusal([&](Settings& s) { s.train.checkpoint_every = bad; })
              .starts_with(std::string("--checkpoint-every ") + bad + ": must be <n>min, <n>it or 0"));
  }
  CHECK(refusal([](Settings& s) { s.train.checkpoint_every = "15it"; }).empty());
}
