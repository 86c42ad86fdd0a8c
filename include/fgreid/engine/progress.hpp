#pragma once
// What a training run shows while it works: on a terminal, one live line redrawn in place (a
// bar, the loss and each term, lr, images/s, data-wait, ETA); otherwise (a log file, CI) plain
// lines every --print-every iterations.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fgreid::engine {

struct ProgressState {
  int epoch = 0, epochs = 0;       ///< 1-based
  std::int64_t step = 0, steps = 0;  ///< iteration within the epoch, 1-based
  double loss = 0;
  std::vector<std::pair<std::string, double>> terms;
  double lr = 0;
  double images_per_s = 0;
  double data_wait = 0;  ///< fraction of the time the training thread waited for data
  double eta_seconds = 0;
};

class Progress {
 public:
  /// `live`: redraw one line (stderr is a terminal); `print_every`: plain lines' period.
  Progress(bool live, int print_every);
  /// Whether step `step` of `steps` should be shown (asks nothing of the GPU otherwise).
  [[nodiscard]] bool due(std::int64_t step, std::int64_t steps);
  void show(const ProgressState& state);
  /// Ends a live line so that other output starts on a fresh one.
  void interrupt_line();

  /// The text of one state (without bar), e.g. for tests and plain lines.
  [[nodiscard]] static std::string describe(const ProgressState& state);
  /// "H:MM:SS".
  [[nodiscard]] static std::string duration(double seconds);

 private:
  bool live_;
  int print_every_;
  bool line_open_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// Whether stderr is an interactive terminal.
[[nodiscard]] bool stderr_is_terminal();

}  // namespace fgreid::engine
