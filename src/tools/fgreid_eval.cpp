// fgreid_eval: ranking metrics of a features file, offline.
//   fgreid_eval --features FILE [--metric euclidean|cosine] [--max-rank N]
//               [--protocol torchreid|seed] [--rerank [--k1 N --k2 N --lambda X]]
//               [--st-reid ...] [--single-shot-repeats N] [--cmc-plot PNG]
//               [--aqe-k K [--aqe-alpha A --aqe-times T]] [--roc [--roc-plot PNG]]
// Prints run_suite()'s metrics as one JSON line on stdout: the visual metrics at the top, one
// object per extra evaluation. The flags are generated from OfflineOptions, SuiteOptions,
// RerankOptions and StReidOptions, the same fields a recipe's evaluation flags come from.
// Exit 2: a bad flag or value; exit 1: an unreadable or malformed features file. Either way
// one line on stderr says why.
#include <fgreid/cli/flags.hpp>
#include <fgreid/cli/tool_main.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/suite.hpp>

#include <fmt/format.h>

#include <iostream>
#include <string>

namespace {

constexpr const char* kProgram = "fgreid_eval";

int run(int argc, char** argv) {
  fgreid::eval::OfflineOptions offline;
  fgreid::eval::SuiteOptions suite;
  fgreid::eval::RerankOptions rerank;
  fgreid::eval::StReidOptions st;
  fgreid::cli::CommandLine cli(kProgram,
                               "Prints rank-k, mAP and mINP of a features file as one JSON line.");
  fgreid::cli::add_flags(cli, offline);
  fgreid::cli::add_flags(cli, suite);
  fgreid::cli::add_flags(cli, rerank);
  fgreid::cli::add_flags(cli, st);
  if (!cli.parse(argc, argv)) return 0;
  if (offline.features.empty()) throw fgreid::UsageError("--features FILE is required");
  if (offline.max_rank < 1)
    throw fgreid::UsageError(fmt::format("--max-rank {}: must be at least 1", offline.max_rank));
  suite.check(rerank, st);
  if (suite.cmc_plot.empty() && cli.was_set("cmc-plot"))
    throw fgreid::UsageError("--cmc-plot: needs a file name");

  const auto set = fgreid::eval::load_features(offline.features);
  if (suite.st_reid)
    if (const auto why = fgreid::eval::st_reid_unavailable(set); !why.empty())
      throw fgreid::DataError(fmt::format("{}: --st-reid: {}", offline.features.string(), why));
  const auto result = fgreid::eval::run_suite(set, offline.metric, offline.max_rank, suite,
                                              rerank, st, static_cast<std::uint64_t>(offline.seed));
  std::cout << result.metrics.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return fgreid::cli::tool_main(kProgram, [&] { return run(argc, argv); });
}
