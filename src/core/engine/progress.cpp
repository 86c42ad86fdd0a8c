#include <fgreid/engine/progress.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace fgreid::engine {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(bool live, int print_every) : live_(live), print_every_(std::max(1, print_every)) {}

bool Progress::due(std::int64_t step, std::int64_t steps) {
  if (!live_) return step % print_every_ == 0 || step == steps;
  const auto now = std::chrono::steady_clock::now();
  if (step != steps && now - last_draw_ < std::chrono::milliseconds(250)) return false;
  last_draw_ = now;
  return true;
}

std::string Progress::duration(double seconds) {
  const auto s = static_cast<long>(std::max(0.0, seconds));
  return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string Progress::describe(const ProgressState& state) {
  std::string terms;
  for (const auto& [name, value] : state.terms) terms += fmt::format(" {} {:.4f}", name, value);
  return fmt::format("epoch {}/{} iter {}/{} loss {:.4f}{} lr {:.2e} {:.1f} img/s data-wait {:.0f}% "
                     "ETA {}",
                     state.epoch, state.epochs, state.step, state.steps, state.loss, terms, state.lr,
                     state.images_per_s, 100 * state.data_wait, duration(state.eta_seconds));
}

void Progress::show(const ProgressState& state) {
  if (!live_) {
    fmt::print(stderr, "[fgreid] {}\n", describe(state));
    return;
  }
  constexpr int kWidth = 24;
  const auto filled = static_cast<int>(kWidth * state.step / std::max<std::int64_t>(1, state.steps));
  const std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  // \r + erase-line: the line is redrawn in place; a newline only when the epoch ends.
  fmt::print(stderr, "\r\x1b[2K[{}] {}", bar, describe(state));
  line_open_ = state.step != state.steps;
  if (!line_open_) fmt::print(stderr, "\n");
  std::fflush(stderr);
}

void Progress::interrupt_line() {
  if (line_open_) fmt::print(stderr, "\n");
  line_open_ = false;
}

}  // namespace fgreid::engine
