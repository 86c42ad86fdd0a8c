#pragma once
// Ctrl-C and SIGTERM during training: the first asks the loop to stop after the current
// iteration (it then writes last.pt and says how to resume); a second exits at once.

namespace fgreid::engine {

/// Installs the handlers for its lifetime and restores the previous ones after.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  /// The signal that asked to stop (SIGINT or SIGTERM), or 0.
  [[nodiscard]] static int requested();
  /// The exit code for a run stopped by `signal`: 128 + its number, as shells report it.
  [[nodiscard]] static int exit_code(int signal) { return 128 + signal; }
};

/// For tests of the interruption path: the iteration (1-based, over the whole run) after which
/// the engine raises SIGINT itself, read from FGREID_INTERRUPT_AFTER_ITERATION; 0 when unset.
[[nodiscard]] long interrupt_after_iteration();

}  // namespace fgreid::engine
