#pragma once
// The runtime half of the generated CLI: flags as strings, parsed from the command line and
// an INI file, then handed to each flag's typed `assign`. Template glue that makes flags out
// of reflected Options lives in cli/flags.hpp.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid::cli {

struct Flag {
  std::string name;          ///< kebab-case, without the leading "--"
  std::string group;         ///< --help section, the owning policy's name
  std::string doc;           ///< one line
  std::string value_hint;    ///< e.g. "float", "int", "auto|cpu|cuda", "int,int,..."
  std::string default_text;  ///< the default, as it would be written on the command line
  bool is_switch = false;    ///< a bool: `--name` alone means true
  std::vector<std::string> aliases;
  /// Parses and stores a value; throws UsageError naming the problem (not the flag).
  std::function<void(std::string_view)> assign;
};

/// Turns a snake_case field name into its flag name: batch_p -> batch-p.
std::string flag_name(std::string_view field);

class CommandLine {
 public:
  CommandLine(std::string program, std::string description);

  /// Adds a flag. A name already present (two policies sharing a knob, e.g. --height) joins
  /// the existing flag when hint and default agree, so one value sets both; otherwise it is a
  /// programming error (std::logic_error) that a test catches.
  void add(Flag flag);
  /// Lets `--alias` stand for `--name` (e.g. the seed's spelling --thresold for --eval-start).
  void alias(std::string_view name, std::string alias);

  /// Parses `argv`, reading `--config FILE` (INI) first when given: with `--opt SECTION` the
  /// keys of that section, else the keys before any section. The command line wins over the
  /// file. Returns false when --help was printed (the caller exits 0). Throws UsageError.
  bool parse(int argc, const char* const* argv);

  /// Whether the user gave this flag (command line or config file).
  [[nodiscard]] bool was_set(std::string_view name) const;
  /// Every flag's effective value as text, for config.json and checkpoints.
  [[nodiscard]] nlohmann::json resolved() const;
  [[nodiscard]] std::string help() const;
  [[nodiscard]] const std::vector<Flag>& flags() const { return flags_; }

 private:
  Flag* find(std::string_view name_or_alias);
  std::string program_, description_;
  std::vector<Flag> flags_;
  std::map<std::string, std::string, std::less<>> given_;  // name -> text
};

/// Parsed INI file: section -> (key -> (value, line)). Keys before a section are under "".
struct IniFile {
  std::map<std::string, std::map<std::string, std::pair<std::string, int>>> sections;
};
/// Throws UsageError "<file>:<line>: <problem>" on a malformed line, or "<file>: cannot read".
IniFile read_ini(const std::string& path);

}  // namespace fgreid::cli
