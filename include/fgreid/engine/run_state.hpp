#pragma once
// Where a training run stands, and exactly what its checkpoints (last.pt, best.pt) hold: the
// model, its optimiser, the gradient scaler, the loss's own state, the CPU generator, and the
// progress (epoch, iteration, best metric). Saving it and resuming from it are the only ways a
// training checkpoint is written and read (checkpoint.hpp does the file format).
#include <fgreid/engine/optim.hpp>
#include <fgreid/engine/parts.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace fgreid::engine {

/// The counters of a run, kept in checkpoints' meta["progress"].
struct TrainingProgress {
  int epoch = 0;            ///< 0-based epoch in progress
  std::int64_t step = 0;    ///< its batches already trained
  std::int64_t iteration = 0;
  double best = -1;         ///< best --best-metric so far
  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] static TrainingProgress from_json(const nlohmann::json& json);
};

class RunState {
 public:
  /// Binds the stateful parts of a run; `meta` (recipe, model, num_classes, flags) is written
  /// into every checkpoint, with the progress and the last evaluation's epoch and metrics.
  RunState(models::ReidModuleImpl& model, const std::string& model_name,
           ModelOptimizer& optimizer, GradScaler& scaler, TrainingLoss& loss, nlohmann::json meta);

  TrainingProgress progress;
  nlohmann::json meta;

  /// Writes the checkpoint atomically (temporary file + rename); waits for the device.
  void save(const std::filesystem::path& path);
  /// --keep-every: the model and the loss's state after `epoch` (1-based, meta["epoch"]) only,
  /// without optimiser or progress (a third of save()'s size): for --evaluate and --checkpoints,
  /// not for --resume.
  void save_model(const std::filesystem::path& path, int epoch) const;
  /// --resume: restores everything from `file`, a checkpoint of recipe `recipe`. DataError
  /// naming the file when it is of another recipe or model, holds no progress or does not fit.
  void resume(const std::filesystem::path& file, const std::string& recipe);

 private:
  /// The loss's and the scaler's tensors, in checkpoint order.
  [[nodiscard]] NamedTensors kept_tensors() const;

  models::ReidModuleImpl& model_;
  std::string model_name_;
  ModelOptimizer& optimizer_;
  GradScaler& scaler_;
  TrainingLoss& loss_;
};

/// The checkpoint --resume names: a file, or a run folder's last.pt.
[[nodiscard]] std::filesystem::path resume_file(const std::filesystem::path& resume);

}  // namespace fgreid::engine
