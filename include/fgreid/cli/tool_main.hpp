#pragma once
// The main() of fgreid's tools: what a recipe's main does with errors, for a tool's own run().
#include <fgreid/error.hpp>

#include <exception>
#include <iostream>
#include <string>
#include <string_view>

namespace fgreid::cli {

/// Calls `run()` and returns its exit code; a UsageError is exit 2 and any other error exit 1,
/// each as one line "PROGRAM: what" on stderr (the first line: LibTorch's errors go on with a
/// backtrace).
template <class Run>
int tool_main(std::string_view program, Run&& run) {
  auto report = [&](const std::exception& error, int code) {
    const std::string what = error.what();
    std::cerr << program << ": " << what.substr(0, what.find('\n')) << '\n';
    return code;
  };
  try {
    return run();
  } catch (const UsageError& error) {
    return report(error, 2);
  } catch (const std::exception& error) {
    return report(error, 1);
  }
}

}  // namespace fgreid::cli
