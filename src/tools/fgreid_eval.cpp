// fgreid_eval: ranking metrics of a features file, offline.
//   fgreid_eval --features FILE [--metric euclidean|cosine] [--max-rank N]
// Prints the metrics as one JSON line on stdout. Exit 2: a bad flag or value; exit 1: an
// unreadable or malformed features file. Either way one line on stderr says why.
#include <fgreid/error.hpp>
#include <fgreid/eval/evaluate.hpp>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

namespace {

namespace po = boost::program_options;
constexpr const char* kProgram = "fgreid_eval";

struct Options {
  std::filesystem::path features;
  fgreid::eval::Metric metric = fgreid::eval::Metric::euclidean;
  int max_rank = 50;
};

po::options_description flags() {
  po::options_description described("Options");
  described.add_options()
      ("help,h", "print this help and exit")
      ("features", po::value<std::string>()->value_name("FILE"),
       "features file written by --extract or Python's torch.save (required)")
      ("metric", po::value<std::string>()->value_name("euclidean|cosine")->default_value("euclidean"),
       "distance to rank the gallery by")
      ("max-rank", po::value<int>()->value_name("N")->default_value(50),
       "length of the CMC curve");
  return described;
}

/// The options, or nullopt when --help was asked for (and printed).
std::optional<Options> parse(int argc, char** argv) {
  const auto described = flags();
  po::variables_map values;
  try {
    // An empty positional description makes a stray word an error instead of ignored.
    const po::positional_options_description no_positional;
    po::store(po::command_line_parser(argc, argv).options(described).positional(no_positional).run(),
              values);
    po::notify(values);
  } catch (const po::error& error) {
    throw fgreid::UsageError(error.what());
  }
  if (values.count("help") != 0) {
    std::cout << fmt::format("Usage: {} --features FILE [--metric euclidean|cosine] "
                             "[--max-rank N]\nPrints rank-k, mAP and mINP of a features file "
                             "as one JSON line.\n\n",
                             kProgram)
              << described;
    return std::nullopt;
  }
  if (values.count("features") == 0) throw fgreid::UsageError("--features FILE is required");
  Options options;
  options.features = values["features"].as<std::string>();
  const auto metric = values["metric"].as<std::string>();
  if (metric == "euclidean")
    options.metric = fgreid::eval::Metric::euclidean;
  else if (metric == "cosine")
    options.metric = fgreid::eval::Metric::cosine;
  else
    throw fgreid::UsageError(
        fmt::format("--metric '{}': expected euclidean or cosine", metric));
  options.max_rank = values["max-rank"].as<int>();
  if (options.max_rank < 1)
    throw fgreid::UsageError(fmt::format("--max-rank {}: must be at least 1", options.max_rank));
  return options;
}

/// One line, whatever the exception's text holds.
std::string one_line(std::string text) {
  text = text.substr(0, text.find('\n'));
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto options = parse(argc, argv);
    if (!options) return 0;
    const auto set = fgreid::eval::load_features(options->features);
    std::cout << fgreid::eval::evaluate_features(set, options->metric, options->max_rank).dump()
              << std::endl;
    return 0;
  } catch (const fgreid::UsageError& error) {
    std::cerr << kProgram << ": " << one_line(error.what()) << '\n';
    return 2;
  } catch (const c10::Error& error) {
    std::cerr << kProgram << ": " << one_line(error.what_without_backtrace()) << '\n';
    return 1;
  } catch (const std::exception& error) {
    std::cerr << kProgram << ": " << one_line(error.what()) << '\n';
    return 1;
  }
}
