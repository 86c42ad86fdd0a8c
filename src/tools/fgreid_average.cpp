// fgreid_average: the mean and spread of several runs' metric lines, e.g. the seed's ten
// CUHK01 trials (one run per --split-seed) or VehicleID's repeated gallery draws.
//   for s in $(seq 1 10); do build/recipe_cuhk01_image --split-seed $s ... | tail -1; done > runs.jsonl
//   build/fgreid_average runs.jsonl            (or the lines on stdin)
// Each non-empty line must be a JSON object (a recipe's or fgreid_eval's last line). Every
// number, nested objects flattened with dots (rerank.rank1), is averaged; a metric that a line
// lacks or reports as null (NaN) is an error naming that line.
// Prints one JSON line: {"runs": N, "mean": {...}, "std": {...}, "min": {...}, "max": {...}};
// std is the sample standard deviation (n − 1), 0 for one run.
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// One metric line: its leaves, nested objects flattened with dots, and where it was read.
struct Run {
  std::string where;  ///< file:line
  std::map<std::string, nlohmann::json> leaves;
};

void flatten(const nlohmann::json& value, const std::string& prefix,
             std::map<std::string, nlohmann::json>& out) {
  for (const auto& [key, item] : value.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (item.is_object()) flatten(item, name, out);
    else out[name] = item;
  }
}

/// Reads every line of `in`; returns false (after saying why) on a line that is not an object.
bool read_runs(std::istream& in, const std::string& source, std::vector<Run>& runs) {
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const auto where = source + ":" + std::to_string(number);
    if (!record.is_object()) {
      std::cerr << "fgreid_average: " << where << ": not a JSON object (a recipe's last line is one)\n";
      return false;
    }
    runs.push_back(Run{where, {}});
    flatten(record, "", runs.back().leaves);
  }
  return true;
}

/// The names that are a number in some run. Each must be a number in every run: a metric that
/// one run lacks, or reports as null (how JSON writes NaN), would otherwise be averaged over
/// fewer runs than the count printed, or dropped without a word.
std::vector<std::string> metric_names(const std::vector<Run>& runs) {
  std::map<std::string, const Run*> first_seen;
  for (const auto& run : runs)
    for (const auto& [name, value] : run.leaves)
      if (value.is_number()) first_seen.emplace(name, &run);
  std::vector<std::string> names;
  for (const auto& [name, seen] : first_seen) {
    for (const auto& run : runs) {
      auto found = run.leaves.find(name);
      if (found == run.leaves.end())
        throw std::runtime_error(run.where + ": lacks the metric '" + name + "' that " + seen->where +
                                 " has (every line must report the same metrics)");
      if (!found->second.is_number())
        throw std::runtime_error(run.where + ": the metric '" + name + "' is " + found->second.dump() +
                                 ", not a number" + (found->second.is_null() ? " (NaN is written as null)" : ""));
    }
    names.push_back(name);
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Run> runs;
  if (argc == 1) {
    if (!read_runs(std::cin, "stdin", runs)) return 1;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage: fgreid_average [FILE...]  (metric lines; none: stdin)\n";
      return 0;
    }
    std::ifstream in(arg);
    if (!in) {
      std::cerr << "fgreid_average: " << arg << ": cannot read\n";
      return 1;
    }
    if (!read_runs(in, arg, runs)) return 1;
  }
  if (runs.empty()) {
    std::cerr << "fgreid_average: no metric lines\n";
    return 1;
  }
  nlohmann::json mean = nlohmann::json::object(), spread = nlohmann::json::object(),
                 low = nlohmann::json::object(), high = nlohmann::json::object();
  std::vector<std::string> names;
  try {
    names = metric_names(runs);
  } catch (const std::runtime_error& error) {
    std::cerr << "fgreid_average: " << error.what() << "\n";
    return 1;
  }
  for (const auto& key : names) {
    std::vector<double> values;
    for (const auto& run : runs) values.push_back(run.leaves.at(key).get<double>());
    double sum = 0, lowest = values.front(), highest = values.front();
    for (double v : values) sum += v, lowest = std::min(lowest, v), highest = std::max(highest, v);
    const double average = sum / static_cast<double>(values.size());
    double squares = 0;
    for (double v : values) squares += (v - average) * (v - average);
    mean[key] = average;
    spread[key] = values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0;
    low[key] = lowest;
    high[key] = highest;
  }
  std::cout << nlohmann::json{{"runs", runs.size()}, {"mean", mean}, {"std", spread},
                              {"min", low}, {"max", high}}.dump()
            << std::endl;
  return 0;
}
