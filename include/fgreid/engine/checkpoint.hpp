#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace fgreid::engine {

/// Saves every parameter and buffer of `model` under its dotted name, with `meta` (recipe,
/// model, classes, epoch, metrics, flags) as JSON text, atomically (temporary file + rename).
void save_checkpoint(const std::filesystem::path& path, const torch::nn::Module& model,
                     const nlohmann::json& meta);

/// Loads a checkpoint written by save_checkpoint into `model`. Throws DataError naming the file
/// when it is missing or unreadable, was written for another model (`meta["model"]` differs
/// from `model_name`), or its tensors do not match by name and shape (listing them).
nlohmann::json load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                               const std::string& model_name);

}  // namespace fgreid::engine
