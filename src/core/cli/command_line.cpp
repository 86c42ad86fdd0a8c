#include <fgreid/cli/command_line.hpp>
#include <fgreid/error.hpp>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace po = boost::program_options;

namespace fgreid::cli {

std::string flag_name(std::string_view field) {
  std::string name{field};
  std::ranges::replace(name, '_', '-');
  return name;
}

CommandLine::CommandLine(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

Flag* CommandLine::find(std::string_view name) {
  auto it = std::ranges::find_if(flags_, [&](const Flag& f) {
    return f.name == name || std::ranges::find(f.aliases, name) != f.aliases.end();
  });
  return it == flags_.end() ? nullptr : &*it;
}

void CommandLine::add(Flag flag) {
  if (Flag* existing = find(flag.name)) {
    if (existing->value_hint != flag.value_hint || existing->default_text != flag.default_text)
      throw std::logic_error(fmt::format(
          "flag --{} is declared by '{}' ({} = {}) and by '{}' ({} = {}): rename one field or "
          "give both the same type and default",
          flag.name, existing->group, existing->value_hint, existing->default_text, flag.group,
          flag.value_hint, flag.default_text));
    existing->assign = [first = existing->assign, second = flag.assign](std::string_view v) {
      first(v);
      second(v);
    };
    return;
  }
  flags_.push_back(std::move(flag));
}

void CommandLine::alias(std::string_view name, std::string alias) {
  Flag* flag = find(name);
  if (flag == nullptr) throw std::logic_error(fmt::format("alias of unknown flag --{}", name));
  flag->aliases.push_back(std::move(alias));
}

namespace {

po::options_description describe(const std::vector<Flag>& flags) {
  po::options_description all;
  all.add_options()("help,h", "")("config", po::value<std::string>(), "")(
      "opt", po::value<std::string>(), "");
  for (const Flag& flag : flags) {
    auto add = [&](const std::string& name) {
      auto* value = po::value<std::string>();
      if (flag.is_switch) value->implicit_value("true");
      all.add_options()(name.c_str(), value, "");
    };
    add(flag.name);
    std::ranges::for_each(flag.aliases, add);
  }
  return all;
}

}  // namespace

bool CommandLine::parse(int argc, const char* const* argv) {
  po::variables_map given;
  const po::options_description description = describe(flags_);
  try {
    // Without a positional description Boost keeps a word that belongs to no flag, unnamed,
    // and store() would ignore it: it is refused here, by name (an empty description would
    // refuse it too, but with "too many positional options", not saying which word).
    auto parsed = po::command_line_parser(argc, argv)
                      .options(description)
                      .style(po::command_line_style::unix_style ^
                             po::command_line_style::allow_guessing)
                      .run();
    for (const po::option& option : parsed.options)
      if (option.position_key >= 0)
        throw UsageError(fmt::format("unexpected word '{}': neither a --flag nor the value of one",
                                     option.value.at(0)));
    po::store(parsed, given);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (given.count("help")) {
    std::fputs(help().c_str(), stdout);
    return false;
  }
  if (given.count("opt") && !given.count("config"))
    throw UsageError("--opt names a section of a --config file, but no --config was given");

  std::map<std::string, std::string, std::less<>> values;
  if (given.count("config")) {
    const auto file = given["config"].as<std::string>();
    IniFile ini = read_ini(file);
    std::string section = given.count("opt") ? given["opt"].as<std::string>() : "";
    auto found = ini.sections.find(section);
    if (found == ini.sections.end()) {
      if (!section.empty())
        throw UsageError(fmt::format("{}: has no section [{}] (--opt)", file, section));
    } else {
      for (const auto& [key, value_line] : found->second) {
        const auto& [value, line] = value_line;
        Flag* flag = find(flag_name(key));
        if (flag == nullptr)
          throw UsageError(fmt::format("{}:{}: unknown option '{}'", file, line, key));
        values[flag->name] = value;
      }
    }
  }
  for (const auto& [name, value] : given) {
    if (name == "help" || name == "config" || name == "opt") continue;
    Flag* flag = find(name);
    values[flag->name] = value.as<std::string>();
  }
  for (const auto& [name, text] : values) {
    try {
      find(name)->assign(text);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("--{} {}: {}", name, text, e.what()));
    }
  }
  given_ = std::move(values);
  return true;
}

bool CommandLine::was_set(std::string_view name) const { return given_.contains(name); }

nlohmann::json CommandLine::resolved() const {
  nlohmann::json out = nlohmann::json::object();
  for (const Flag& flag : flags_) {
    auto it = given_.find(flag.name);
    out[flag.name] = it != given_.end() ? it->second : flag.default_text;
  }
  return out;
}

std::string CommandLine::help() const {
  std::ostringstream out;
  out << fmt::format("Usage: {} [--flag value ...] [--config FILE [--opt SECTION]]\n\n{}\n",
                     program_, description_);
  std::vector<std::string> groups;
  for (const Flag& flag : flags_)
    if (std::ranges::find(groups, flag.group) == groups.end()) groups.push_back(flag.group);
  for (const auto& group : groups) {
    out << "\n" << group << ":\n";
    for (const Flag& flag : flags_) {
      if (flag.group != group) continue;
      std::string names = "--" + flag.name;
      for (const auto& alias : flag.aliases) names += ", --" + alias;
      out << fmt::format("  {} {}  (default: {})\n      {}\n", names, flag.value_hint,
                         flag.default_text.empty() ? "none" : flag.default_text, flag.doc);
    }
  }
  out << "\nConfiguration:\n  --config FILE  read flags from an INI file (keys are flag names)\n"
         "  --opt SECTION  use that [SECTION] of the file (the seed's --opt)\n"
         "  --help         this text\n";
  return out.str();
}

IniFile read_ini(const std::string& path) {
  // An ifstream opens a folder and reads it as an empty file: the flags it was meant to
  // carry would be silently missing.
  if (std::error_code error; std::filesystem::is_directory(path, error))
    throw UsageError(fmt::format("--config {}: is a folder, not an INI file", path));
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("--config {}: cannot read the config file", path));
  IniFile ini;
  std::string section, line;
  auto trim = [](std::string s) {
    auto first = s.find_first_not_of(" \t\r");
    auto last = s.find_last_not_of(" \t\r");
    return first == std::string::npos ? std::string{} : s.substr(first, last - first + 1);
  };
  ini.sections[""];
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        throw UsageError(fmt::format("{}:{}: a section header needs a closing ']'", path, number));
      section = trim(line.substr(1, line.size() - 2));
      ini.sections[section];
      continue;
    }
    auto eq = line.find_first_of("=:");
    if (eq == std::string::npos)
      throw UsageError(fmt::format("{}:{}: expected 'key = value', got '{}'", path, number, line));
    ini.sections[section][trim(line.substr(0, eq))] = {trim(line.substr(eq + 1)), number};
  }
  return ini;
}

}  // namespace fgreid::cli
