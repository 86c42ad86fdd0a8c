#include <fgreid/engine/files.hpp>
#include <fgreid/engine/interrupt.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace fgreid::engine {

namespace {
std::atomic<int> stop_signal{0};
struct sigaction previous_int {}, previous_term {};

extern "C" void on_signal(int signal) {
  int expected = 0;
  if (stop_signal.compare_exchange_strong(expected, signal)) {
    constexpr char message[] =
        "\n[fgreid] interrupted: finishing this iteration, then writing last.pt "
        "(interrupt again to quit at once)\n";
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
    return;
  }
  constexpr char message[] = "\n[fgreid] interrupted twice: quitting without a checkpoint\n";
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
  remove_unfinished_temporary();  // a checkpoint cut short would stay behind as hundreds of MB
  ::_exit(128 + signal);
}
}  // namespace

InterruptGuard::InterruptGuard() {
  stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous_int);
  ::sigaction(SIGTERM, &action, &previous_term);
}

InterruptGuard::~InterruptGuard() {
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
}

int InterruptGuard::requested() { return stop_signal.load(); }

long interrupt_after_iteration() {
  const char* value = std::getenv("FGREID_INTERRUPT_AFTER_ITERATION");
  if (value == nullptr) return 0;
  try {
    return std::stol(value);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace fgreid::engine
