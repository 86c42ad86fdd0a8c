#pragma once
// The errors fgreid reports to a user. Each message is one line that names the flag, file or
// folder at fault and what is wrong with it; recipe_main() prints it and exits non-zero.
#include <stdexcept>
#include <string>
#include <string_view>

namespace fgreid {

/// A wrong flag, flag value or config file: exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A missing, malformed or corrupt input (dataset tree, image, list, .mat, checkpoint,
/// features file): exit code 1. The message starts with the offending path.
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The first sentence of an error raised inside a library (LibTorch follows it with advice and
/// a backtrace), to quote after the path in a one-line DataError.
inline std::string library_reason(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  return std::string(text.substr(0, text.find(". ")));
}

}  // namespace fgreid
