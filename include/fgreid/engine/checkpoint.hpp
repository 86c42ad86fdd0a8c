#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace fgreid::engine {

/// Saves every parameter and buffer of `model` under its dotted name, with `meta` (recipe,
/// model, classes, epoch, metrics, flags) as JSON text, atomically (temporary file + rename).
/// `extra` are further named tensors kept with the model's (a loss's centers: "loss.centers",
/// generator states, the gradient scaler's); `optimizer`, when given, is kept too (--resume).
void save_checkpoint(const std::filesystem::path& path, const torch::nn::Module& model,
                     const nlohmann::json& meta,
                     const std::vector<std::pair<std::string, torch::Tensor>>& extra = {},
                     const torch::optim::Optimizer* optimizer = nullptr);

/// Loads a checkpoint written by save_checkpoint into `model`. Throws DataError naming the file
/// when it is missing or unreadable, was written for another model (`meta["model"]` differs
/// from `model_name`), or its tensors do not match by name and shape (listing them).
/// `extra` tensors are filled in place from the records of the same names, as they must be;
/// `optimizer`, when given, gets the stored optimizer state (DataError when there is none).
nlohmann::json load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                               const std::string& model_name,
                               const std::vector<std::pair<std::string, torch::Tensor>>& extra = {},
                               torch::optim::Optimizer* optimizer = nullptr);

/// --evaluate and --checkpoints: load_checkpoint for testing only. The classifier
/// ("classifier.*") and the `extra` tensors are off the test path, so where they are stored in
/// another shape (a run on another dataset: another identity count) they are left as they are
/// and listed in the returned meta's "skipped"; every other tensor must fit as in load_checkpoint.
nlohmann::json load_for_evaluation(const std::filesystem::path& path, torch::nn::Module& model,
                                   const std::string& model_name,
                                   const std::vector<std::pair<std::string, torch::Tensor>>& extra = {});

/// `--init-from`: starts `model` from a checkpoint of another run, possibly another recipe
/// (VehicleID -> VeRi, or a video model's trunks into an image model). Only tensors whose names
/// start with `prefix` (empty: all) are taken; those of the classifier are dropped when the
/// identity count differs. Any other tensor the checkpoint lacks or holds in another shape is a
/// DataError naming the file and the tensors. Returns a one-line account of what was taken.
std::string init_from_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                                 const std::string& prefix);

}  // namespace fgreid::engine
