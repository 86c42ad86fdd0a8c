// fgreid_eval: ranking metrics of a features file, offline.
//   fgreid_eval --features FILE [--metric euclidean|cosine] [--max-rank N]
//               [--protocol torchreid|seed] [--rerank [--k1 N --k2 N --lambda X]]
//               [--st-reid [--st-lambda X --st-gamma X ...]] [--single-shot N] [--cmc-plot PNG]
// Prints the metrics as one JSON line on stdout (run_suite()'s: visual metrics at the top,
// one object per extra evaluation). Exit 2: a bad flag or value; exit 1: an
// unreadable or malformed features file. Either way one line on stderr says why.
#include <fgreid/error.hpp>
#include <fgreid/eval/evaluate.hpp>
#include <fgreid/eval/suite.hpp>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdint>
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
  fgreid::eval::SuiteOptions suite;
  std::uint64_t seed = 1;
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
       "length of the CMC curve")
      ("protocol", po::value<std::string>()->value_name("torchreid|seed")->default_value("torchreid"),
       "metric definitions: torchreid's, or the seed's (trapezoid AP, mean over all queries)")
      ("rerank", po::bool_switch(), "also report k-reciprocal re-ranked metrics")
      ("k1", po::value<int>()->value_name("N")->default_value(20),
       "re-ranking: neighbours of the k-reciprocal sets")
      ("k2", po::value<int>()->value_name("N")->default_value(6),
       "re-ranking: neighbours of query expansion (at most k1 + 1)")
      ("lambda", po::value<double>()->value_name("X")->default_value(0.3),
       "re-ranking: weight of the original distance")
      ("st-reid", po::bool_switch(),
       "also report st-ReID metrics (needs query/gallery frames and train_* in the file)")
      ("st-visual-lambda", po::value<double>()->value_name("X")->default_value(1.0),
       "st-ReID: lambda of the visual logistic")
      ("st-visual-gamma", po::value<double>()->value_name("X")->default_value(5.0),
       "st-ReID: gamma of the visual logistic")
      ("st-lambda", po::value<double>()->value_name("X")->default_value(2.0),
       "st-ReID: lambda of the spatial-temporal logistic")
      ("st-gamma", po::value<double>()->value_name("X")->default_value(5.0),
       "st-ReID: gamma of the spatial-temporal logistic")
      ("single-shot", po::value<int>()->value_name("N")->default_value(0),
       "also report the single-gallery-shot CMC over N random galleries (0 = off)")
      ("seed", po::value<std::uint64_t>()->value_name("N")->default_value(1),
       "seed of the single-gallery-shot draws")
      ("cmc-plot", po::value<std::string>()->value_name("PNG"),
       "write the CMC curves of every evaluation run to this PNG");
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
                             "[--max-rank N] [--protocol torchreid|seed] [--rerank] [--st-reid] "
                             "[--single-shot N] [--cmc-plot PNG]\nPrints rank-k, mAP and mINP "
                             "of a features file as one JSON line.\n\n",
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

  auto& suite = options.suite;
  const auto protocol = values["protocol"].as<std::string>();
  if (protocol == "torchreid")
    suite.protocol = fgreid::eval::Protocol::torchreid;
  else if (protocol == "seed")
    suite.protocol = fgreid::eval::Protocol::seed;
  else
    throw fgreid::UsageError(
        fmt::format("--protocol '{}': expected torchreid or seed", protocol));
  suite.rerank = values["rerank"].as<bool>();
  suite.k1 = values["k1"].as<int>();
  suite.k2 = values["k2"].as<int>();
  suite.lambda = values["lambda"].as<double>();
  if (suite.k1 < 1 || suite.k1 > 1000)
    throw fgreid::UsageError(fmt::format("--k1 {}: must be in 1..1000", suite.k1));
  if (suite.k2 < 1 || suite.k2 > suite.k1 + 1)
    throw fgreid::UsageError(fmt::format("--k2 {}: must be in 1..k1+1 ({})", suite.k2, suite.k1 + 1));
  if (!(suite.lambda >= 0 && suite.lambda <= 1))
    throw fgreid::UsageError(fmt::format("--lambda {}: must be in [0, 1]", suite.lambda));
  suite.st_reid = values["st-reid"].as<bool>();
  suite.st_visual_lambda = values["st-visual-lambda"].as<double>();
  suite.st_visual_gamma = values["st-visual-gamma"].as<double>();
  suite.st_lambda = values["st-lambda"].as<double>();
  suite.st_gamma = values["st-gamma"].as<double>();
  suite.single_shot_repeats = values["single-shot"].as<int>();
  if (suite.single_shot_repeats < 0)
    throw fgreid::UsageError(
        fmt::format("--single-shot {}: must be 0 (off) or more", suite.single_shot_repeats));
  if (values.count("cmc-plot") != 0) {
    suite.cmc_plot = values["cmc-plot"].as<std::string>();
    if (suite.cmc_plot.empty()) throw fgreid::UsageError("--cmc-plot: needs a file name");
  }
  options.seed = values["seed"].as<std::uint64_t>();
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
    if (options->suite.st_reid)
      if (const auto why = fgreid::eval::st_reid_unavailable(set); !why.empty())
        throw fgreid::DataError(fmt::format("{}: --st-reid: {}", options->features.string(), why));
    const auto result = fgreid::eval::run_suite(set, options->metric, options->max_rank,
                                                options->suite, options->seed);
    std::cout << result.metrics.dump() << std::endl;
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
