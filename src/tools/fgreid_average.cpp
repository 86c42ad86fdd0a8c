// fgreid_average: the mean and spread of several runs' metric lines, e.g. the seed's ten
// CUHK01 trials (one run per --split-seed) or VehicleID's repeated gallery draws.
//   for s in $(seq 1 10); do build/recipe_cuhk01_image --split-seed $s ... | tail -1; done > runs.jsonl
//   build/fgreid_average runs.jsonl            (or the lines on stdin)
// Each non-empty line must be a JSON object (a recipe's or fgreid_eval's last line). Every
// number found in all of them, nested objects flattened with dots (rerank.rank1), is averaged.
// Prints one JSON line: {"runs": N, "mean": {...}, "std": {...}, "min": {...}, "max": {...}};
// std is the sample standard deviation (n − 1), 0 for one run.
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

void flatten(const nlohmann::json& value, const std::string& prefix,
             std::map<std::string, double>& out) {
  for (const auto& [key, item] : value.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (item.is_number()) out[name] = item.get<double>();
    else if (item.is_object()) flatten(item, name, out);
  }
}

/// Reads every line of `in`; returns false (after saying why) on a line that is not an object.
bool read_runs(std::istream& in, const std::string& source,
               std::vector<std::map<std::string, double>>& runs) {
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) {
      std::cerr << "fgreid_average: " << source << ":" << number
                << ": not a JSON object (a recipe's last line is one)\n";
      return false;
    }
    runs.emplace_back();
    flatten(record, "", runs.back());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::map<std::string, double>> runs;
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
  for (const auto& [key, first] : runs.front()) {
    std::vector<double> values;
    for (const auto& run : runs)
      if (auto found = run.find(key); found != run.end()) values.push_back(found->second);
    if (values.size() != runs.size()) continue;  // not in every run
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
