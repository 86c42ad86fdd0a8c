#pragma once
// The training loop: epochs of steps (the forward under autocast, the loss, the scaled
// backward, the model's optimiser and the loss's own), the progress line and log.jsonl,
// Ctrl-C, and the evaluations on the schedule, each followed by best.pt (when better) and last.pt;
// last.pt also every --checkpoint-every and before a failure ends the run. Under
// torchrun each rank trains on its identities of the global batch, gradients averaged in buckets
// during backward; rank 0 alone writes.
#include <fgreid/dist/gradients.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/engine/optim.hpp>
#include <fgreid/engine/parts.hpp>
#include <fgreid/engine/progress.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/engine/run_state.hpp>
#include <fgreid/engine/settings.hpp>
#include <fgreid/engine/train_step.hpp>
#include <fgreid/eval/evaluator.hpp>

#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <variant>

namespace fgreid::engine {

class Trainer {
  using Clock = std::chrono::steady_clock;

 public:
  /// Builds the optimiser and the scaler; with --resume, restores the run from its checkpoint
  /// (and takes its folder as the output unless --output is given). Then opens the run folder.
  Trainer(const Job& job, Parts& parts, const eval::Evaluator& evaluator, torch::Device device);
  ~Trainer();

  [[nodiscard]] const std::filesystem::path& output() const { return output_; }

  /// Trains from where the run stands to the last epoch. Returns the last evaluation (with
  /// its train_seconds), or the exit code of a run stopped by a signal (last.pt written).
  std::variant<eval::Evaluation, int> run();

 private:
  /// One epoch from the run's step; the exit code when a signal stopped it.
  std::optional<int> train_epoch(int epoch);
  /// The settings of the training step; says in one line why --cuda-graphs cannot apply.
  [[nodiscard]] StepSettings step_settings() const;
  /// The loss on this rank's outputs, or (--loss-batch global) on every rank's, gathered.
  losses::LossResult loss_of(const models::TrainOutput& output, const torch::Tensor& labels);
  /// Every rank starts from rank 0's weights and the loss's state.
  void start_together();
  /// This rank's identities of a global batch (all of it in one process).
  std::vector<std::int64_t> rank_share(std::vector<std::int64_t> batch) const;
  /// The signal to stop with after this iteration, or 0; under torchrun, every rank stops after
  /// the same iteration.
  int stop_requested();
  /// The progress line and log record of the current window of steps.
  void report(const losses::LossResult& result, int epoch, double lr, double wait_seconds);
  /// Notes, on the device and without waiting for it, the first iteration whose loss is not
  /// finite (not under fp16, whose scaler skips those steps).
  void watch_loss(const losses::LossResult& result);
  /// Stops the run (DataError) when a loss was not finite: naming the iteration and the terms,
  /// before anything of the diverged weights is written.
  void check_loss_finite(const losses::LossResult& result) const;
  /// last.pt and the exit code after a signal.
  int stop(int signal);
  /// Whether --checkpoint-every asks for last.pt now (rank 0).
  [[nodiscard]] bool checkpoint_due() const;
  /// last.pt at the run's progress, unless `result`'s run has diverged (then check_loss_finite's
  /// error); restarts --checkpoint-every's count.
  void save_last(const losses::LossResult& result);
  /// Rethrows a failure in the middle of the run (an unreadable image, an evaluation error) as a
  /// DataError, after writing last.pt so that --resume continues from where it happened.
  [[noreturn]] void fail_keeping_progress(const std::exception& error, const losses::LossResult& result);
  /// Evaluates after `epoch`, logs, saves last.pt and (when the metric improved) best.pt.
  eval::Evaluation evaluate_after(int epoch);
  /// --keep-every: epoch_<n>.pt after every n-th epoch.
  void keep(int epoch) const;

  const Job& job_;
  const dist::World& world_;
  Parts& parts_;
  const eval::Evaluator& evaluator_;
  torch::Device device_;
  ModelOptimizer optimizer_;
  GradScaler scaler_;
  RunState state_;
  std::filesystem::path output_;
  std::int64_t batches_ = 1;  ///< per epoch
  std::unique_ptr<dist::GradientAverager> averager_;  ///< under torchrun
  std::unique_ptr<TrainStep> step_;
  std::int64_t global_batch_ = 0;  ///< items in a batch of the sampler, every rank's together
  std::int64_t stop_after_ = -1;   ///< under torchrun: the agreed last iteration (-1: none yet)

  // Progress of the current run (not of the resumed one): images/s and ETA windows.
  std::unique_ptr<JsonLog> log_;
  std::unique_ptr<Progress> display_;
  Clock::time_point run_start_, window_start_;
  std::int64_t first_iteration_ = 0, window_images_ = 0;
  double window_wait_ = 0;
  long interrupt_after_ = 0;  ///< tests: raise SIGINT after this iteration (0: never)
  torch::Tensor first_nonfinite_;  ///< the first iteration whose loss was not finite; -1: none yet
  CheckpointInterval checkpoint_every_;
  Clock::time_point last_checkpoint_;
  std::int64_t last_checkpoint_iteration_ = 0;
};

}  // namespace fgreid::engine
