#include <fgreid/engine/settings.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

namespace fgreid::engine {

namespace {

template <class T>
[[noreturn]] void refuse(std::string_view flag, const T& value, std::string_view rule) {
  throw UsageError(fmt::format("--{} {}: must be {}", flag, value, rule));
}

void at_least(std::string_view flag, std::int64_t value, std::int64_t minimum) {
  if (value < minimum)
    refuse(flag, value, minimum == 0 ? std::string("0 or more") : fmt::format("at least {}", minimum));
}

void positive_finite(std::string_view flag, double value) {
  if (!(std::isfinite(value) && value > 0)) refuse(flag, value, "a positive finite number");
}

void finite_at_least_zero(std::string_view flag, double value) {
  if (!(std::isfinite(value) && value >= 0)) refuse(flag, value, "a finite number, 0 or more");
}

void check(const RunOptions& run) { at_least("threads", run.threads, 0); }

void check(const DataOptions& data) {
  // The ResNet trunks downsample 16× (last stride 1): a smaller side leaves no feature map.
  at_least("height", data.height, 16);
  at_least("width", data.width, 16);
  at_least("workers", data.workers, 0);
  at_least("prefetch", data.prefetch, 1);
  at_least("test-batch", data.test_batch, 1);
}

void check(const TrainOptions& train) {
  at_least("max-epoch", train.max_epoch, 1);
  at_least("epoch-iterations", train.epoch_iterations, 0);
  at_least("eval-start", train.eval_start, 0);
  at_least("eval-every", train.eval_every, 1);
  at_least("print-every", train.print_every, 1);
  at_least("warmup-epochs", train.warmup_epochs, 0);
  positive_finite("lr", train.lr);
  finite_at_least_zero("weight-decay", train.weight_decay);
  positive_finite("gamma", train.gamma);
  if (!(train.warmup_factor > 0 && train.warmup_factor <= 1))
    refuse("warmup-factor", train.warmup_factor, "in (0, 1]");
  if (!(train.momentum >= 0 && train.momentum < 1)) refuse("momentum", train.momentum, "in [0, 1)");
  if (std::ranges::any_of(train.milestones, [](int epoch) { return epoch < 1; }) ||
      !std::ranges::is_sorted(train.milestones))
    refuse("milestones", fmt::format("{}", fmt::join(train.milestones, ",")),
           "epochs of 1 or more, in increasing order");
  (void)parse_checkpoint_every(train.checkpoint_every);
}

void check(const EvalOptions& eval) {
  at_least("max-rank", eval.max_rank, 1);
  at_least("visualize-ranks", eval.visualize_ranks, 0);
  at_least("visualize-attention", eval.visualize_attention, 0);
}

void check(const DistOptions& dist) {
  positive_finite("bucket-mb", dist.bucket_mb);
  at_least("dist-timeout", dist.dist_timeout, 1);
}

}  // namespace

CheckpointInterval parse_checkpoint_every(std::string_view text) {
  const auto refuse_interval = [&] {
    refuse("checkpoint-every", text, "<n>min, <n>it or 0 (e.g. 30min, 2000it)");
  };
  if (text == "0") return {};
  const bool minutes = text.ends_with("min");
  if (!minutes && !text.ends_with("it")) refuse_interval();
  const auto number = text.substr(0, text.size() - (minutes ? 3 : 2));
  double value = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || error != std::errc{} || end != number.data() + number.size() ||
      !std::isfinite(value) || value <= 0 || (!minutes && (value != std::floor(value) || value > 1e15)))
    refuse_interval();
  if (minutes) return {.minutes = value};
  return {.iterations = static_cast<std::int64_t>(value)};
}

void check_settings(const Settings& settings) {
  check(settings.run);
  check(settings.data);
  check(settings.train);
  check(settings.eval);
  check(settings.dist);
  settings.suite.check(settings.rerank, settings.st);
}

}  // namespace fgreid::engine
