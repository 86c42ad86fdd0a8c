#pragma once
// Every option group a recipe has besides its policies': the one aggregate that a recipe's
// Experiment::Config extends and that the engine reads, flag groups in --help order.
#include <fgreid/engine/options.hpp>
#include <fgreid/eval/suite_options.hpp>
#include <fgreid/options.hpp>

namespace fgreid::engine {

struct Settings {
  /// Data, output, device, seed; what the run does (--evaluate, --resume, --summary, ...).
  RunOptions run;
  /// Weights in and out (--pretrained, --init-from, --export-weights, ...).
  WeightsOptions weights;
  /// Input size and the loader, with the augmentation pipeline.
  DataOptions data;
  /// Epochs, optimiser and schedule, evaluation schedule, progress.
  TrainOptions train;
  /// Test features and the pictures drawn at each evaluation.
  EvalOptions eval;
  /// Protocols and extra evaluation runs (re-ranking, st-ReID, single shot).
  eval::SuiteOptions suite;
  /// The knobs of re-ranking.
  eval::RerankOptions rerank;
  /// The knobs of st-ReID.
  eval::StReidOptions st;
  /// Data-parallel training under torchrun: backend, BatchNorm, the loss's batch, buckets.
  DistOptions dist;
  FGREID_REFLECT(Settings, run, weights, data, train, eval, suite, rerank, st, dist);
};

/// Refuses every value that no run can use (a zero size or count, a rate that is not a
/// positive finite number, a schedule out of order) with a UsageError naming the flag: called
/// right after parsing, before any data is read or any folder made.
void check_settings(const Settings& settings);

/// --checkpoint-every: minutes or iterations between checkpoints (both 0: none).
struct CheckpointInterval {
  double minutes = 0;
  std::int64_t iterations = 0;
};
/// Parses "<n>min", "<n>it" or "0"; UsageError naming --checkpoint-every otherwise.
[[nodiscard]] CheckpointInterval parse_checkpoint_every(std::string_view text);

}  // namespace fgreid::engine
