#pragma once
// Weights in and out by parameter name, in the files Python users have: torch.save(state_dict)
// zips (plain dict or torchvision's OrderedDict) and TorchScript archives. Since fgreid's
// modules carry torchvision's names, a torchvision download loads as it is and an export
// loads into the equivalent Python module with load_state_dict.
//
// Turning a torchvision download into either format (README):
//   python -c "import torch,torchvision as tv; torch.save(tv.models.resnet50(weights='DEFAULT').state_dict(), 'r50.pt')"
//   python -c "import torch,torchvision as tv; torch.jit.script(tv.models.resnet50(weights='DEFAULT')).save('r50.ts')"
#include <fgreid/detail/pickle.hpp>

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid::models {

/// Parameter and buffer names -> tensors, in file (or registration) order.
using StateDict = detail::NamedTensors;

/// How file keys are matched to a module's parameters and buffers.
struct LoadOptions {
  /// Missing keys are an error; false downgrades them to the returned warnings.
  bool strict = true;
  /// Only file keys starting with this are used, with it removed ("base." picks the first
  /// trunk out of a whole FGReID model); empty: every key.
  std::string from_prefix;
  /// File keys starting with any of these are skipped silently ({"fc."}: torchvision's
  /// ImageNet classifier, which a trunk has no place for).
  std::vector<std::string> skip_prefixes;
};

/// The state dict in `file`: a zip-format torch.save of a dict or OrderedDict of tensors (also
/// nested as `{"state_dict": ...}`), or a TorchScript archive (its parameters and buffers).
/// Throws DataError starting with the path.
StateDict read_state_dict(const std::filesystem::path& file);

/// The parameters and buffers of `module` under their dotted names (torchvision's for fgreid's
/// models), detached and on the CPU.
StateDict state_dict_of(const torch::nn::Module& module);

/// Copies `state` into `module` by name. Unexpected keys (after LoadOptions' prefix and
/// skips) and shape mismatches always throw DataError; missing keys throw when
/// `options.strict`, otherwise they come back as warnings. The message starts with `source`
/// (the file name) and lists every offending key. Nothing is copied when it throws.
std::vector<std::string> load_state_dict(torch::nn::Module& module, const StateDict& state,
                                         const LoadOptions& options, std::string_view source);

/// read_state_dict + load_state_dict: `--pretrained FILE`.
std::vector<std::string> load_weights(const std::filesystem::path& file, torch::nn::Module& module,
                                      const LoadOptions& options = {});

/// Writes state_dict_of(module) as a zip-format pickle of a plain dict (atomically), which
/// Python reads with torch.load(file, weights_only=True) and load_state_dict: `--export-weights`.
void export_weights(const std::filesystem::path& file, const torch::nn::Module& module);

/// The seed's key names mapped to fgreid's: the seed wraps each trunk in
/// nn.Sequential(*children[:-2]), so `base.4.0.conv1.weight` is fgreid's
/// `base.layer1.0.conv1.weight` (indices 0 conv1, 1 bn1, 4..7 layer1..4, under both `base.`
/// and `base_mars.`); DataParallel's leading `module.` is dropped. Other keys pass unchanged.
StateDict from_seed_names(StateDict state);

}  // namespace fgreid::models
