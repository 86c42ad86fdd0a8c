#pragma once
// --extract-images: the test-time features of the user's own images or clips with a trained
// run's weights, no dataset needed. The recipe gives what makes them the run's features: the
// model type, the test transform (--height/--width, the resize and normalisation) and the
// feature mode (--flip-test, --normalize-features, and for video --seq-len/--max-test-clips).
//
//   build/recipe_market_image --weights runs/.../best.pt --extract-images photos/ --extract feats.pt
//
// writes feats.pt (torch.load(weights_only=True): {"features": [N, D] float32, "paths": [N]}),
// feats.npy (np.load: the same [N, D]) and feats.paths.txt (one path per line, same order).
#include <fgreid/engine/run.hpp>
#include <fgreid/models/module.hpp>
#include <fgreid/samplers/options.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace fgreid::engine {

/// The identity count of the classifier that a trained run's weights hold: a checkpoint's
/// (best.pt, last.pt) recorded count, or the rows of an exported state dict's
/// `classifier.weight` (--export-weights). DataError naming the file otherwise.
[[nodiscard]] std::int64_t classes_in_weights(const std::filesystem::path& weights);

/// Loads a checkpoint (which must be of `model_name`) or an exported state dict (strictly, by
/// name and shape) into `model`. DataError naming the file when it does not fit. A checkpoint's
/// run recorded its flags: those of the test features (input size, flip, normalisation, clips)
/// that differ from `flags` are pointed out on stderr.
void load_trained_weights(const std::filesystem::path& weights, torch::nn::Module& model,
                          const std::string& model_name, const nlohmann::json& flags);

/// The three output files of `--extract FILE`: FILE, FILE with .npy and with .paths.txt.
struct ExtractOutputs {
  std::filesystem::path tensors, npy, paths;
};
[[nodiscard]] ExtractOutputs extract_outputs(const std::filesystem::path& file);

/// --extract-images SOURCE with --weights and --extract: loads the weights into `model`,
/// extracts (images, or with `clips` the mean of each clip folder's test clips), writes the
/// three files (each through a temporary file, after every feature is computed) and prints one
/// JSON line {count, dim, features, npy, paths}. Returns the exit code.
int extract_images(const Job& job, models::ReidModuleImpl& model, const samplers::ClipPlan& clips);

}  // namespace fgreid::engine
