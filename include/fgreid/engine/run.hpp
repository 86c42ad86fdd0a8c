#pragma once
// The part of an Experiment that does not depend on its policies' types: compiled once in
// src/torch/engine, called by every recipe binary with its policies built (engine/parts.hpp).
#include <fgreid/datasets/splits.hpp>
#include <fgreid/engine/parts.hpp>
#include <fgreid/engine/settings.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace fgreid::engine {

/// What the run is: the recipe, its settings and data.
struct Job {
  std::string recipe;
  std::string model_name;
  Settings settings;
  nlohmann::json flags;  ///< every flag's resolved value, kept with outputs and checkpoints
  std::filesystem::path data_root;
  datasets::Splits splits;
};

/// Trains with periodic evaluation (or only evaluates, with --evaluate), writes the outputs,
/// and prints the final metrics as the last line on stdout. Returns the exit code.
int execute(const Job& job, Parts parts);

/// Picks the device: --device auto takes CUDA when LibTorch sees a GPU.
torch::Device select_device(DeviceChoice choice);

/// What every checkpoint and config.json of the run hold: recipe, model, classes, flags.
[[nodiscard]] nlohmann::json run_meta(const Job& job);

/// Creates the run folder, writes config.json (`meta`) into it, announces the run on stderr
/// and returns the folder: --output; else the folder of --resume; else a new
/// runs/<recipe>/<timestamp>[-n] that no other run shares (mkdir picks the name). An --output
/// that holds another run is refused (UsageError) unless the run resumes from it or has
/// --overwrite; a folder that cannot be made is a DataError naming it.
[[nodiscard]] std::filesystem::path open_run_folder(const Job& job, const nlohmann::json& meta,
                                                    torch::Device device);

}  // namespace fgreid::engine
