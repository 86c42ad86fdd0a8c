#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>
#include <fgreid/models/weights.hpp>
#include <torch/script.h>

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <map>
#include <set>

namespace fgreid::models {

namespace {

namespace fs = std::filesystem;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

/// TorchScript archives carry compiled code and constants; torch.save's hold data.pkl only.
bool is_torchscript(const fs::path& file) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(file.string());
    return reader.hasRecord("constants.pkl") || reader.hasRecord("code/__torch__.py");
  } catch (const c10::Error&) {
    return false;  // not a zip: load_tensor_dict says what is wrong
  }
}

StateDict read_torchscript(const fs::path& file) {
  auto module = [&] {
    try {
      return torch::jit::load(file.string(), torch::kCPU);
    } catch (const c10::Error& error) {
      throw DataError(fmt::format("{}: not a loadable TorchScript archive ({})", file.string(),
                                  library_reason(error.what_without_backtrace())));
    }
  }();
  StateDict state;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    state.emplace_back(item.name, item.value.detach());
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    state.emplace_back(item.name, item.value.detach());
  return state;
}

std::string shape(const torch::Tensor& tensor) { return c10::str(tensor.sizes()); }

}  // namespace

StateDict read_state_dict(const fs::path& file) {
  if (!fs::is_regular_file(file)) throw DataError(fmt::format("{}: no such weights file", file.string()));
  return is_torchscript(file) ? read_torchscript(file) : detail::load_tensor_dict(file);
}

StateDict state_dict_of(const torch::nn::Module& module) {
  StateDict state;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    state.emplace_back(item.key(), item.value().detach().to(torch::kCPU));
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    state.emplace_back(item.key(), item.value().detach().to(torch::kCPU));
  return state;
}

std::vector<std::string> load_state_dict(torch::nn::Module& module, const StateDict& state,
                                         const LoadOptions& options, std::string_view source) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) targets.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) targets.emplace(item.key(), item.value());

  std::vector<std::string> unexpected, mismatched;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, source)
  std::set<std::string> found;
  for (const auto& [file_key, tensor] : state) {
    if (!starts_with(file_key, options.from_prefix)) continue;
    const std::string key = file_key.substr(options.from_prefix.size());
    bool skipped = false;
    for (const auto& prefix : options.skip_prefixes) skipped = skipped || starts_with(key, prefix);
    if (skipped) continue;
    auto target = targets.find(key);
    if (target == targets.end()) {
      unexpected.push_back(file_key);
    } else if (target->second.sizes() != tensor.sizes()) {
      mismatched.push_back(fmt::format("{} {} (model {})", file_key, shape(tensor), shape(target->second)));
    } else {
      found.insert(key);
      copies.emplace_back(target->second, tensor);
    }
  }
  std::vector<std::string> missing;
  for (const auto& [key, tensor] : targets)
    if (!found.contains(key)) missing.push_back(options.from_prefix + key);

  const bool missing_is_error = options.strict && !missing.empty();
  if (!unexpected.empty() || !mismatched.empty() || missing_is_error) {
    std::vector<std::string> parts;
    if (missing_is_error) parts.push_back(fmt::format("missing {} [{}]", missing.size(), fmt::join(missing, ", ")));
    if (!unexpected.empty())
      parts.push_back(fmt::format("unexpected {} [{}]", unexpected.size(), fmt::join(unexpected, ", ")));
    if (!mismatched.empty())
      parts.push_back(fmt::format("shape mismatch {} [{}]", mismatched.size(), fmt::join(mismatched, ", ")));
    throw DataError(fmt::format("{}: the weights do not fit the model{}: {}", source,
                                options.from_prefix.empty() ? "" : fmt::format(" (keys under '{}')", options.from_prefix),
                                fmt::join(parts, "; ")));
  }

  torch::NoGradGuard no_grad;
  for (auto& [target, tensor] : copies) target.copy_(tensor);
  std::vector<std::string> warnings;
  if (!missing.empty())
    warnings.push_back(fmt::format("{}: {} model tensors not in the file keep their initial values: {}",
                                   source, missing.size(), fmt::join(missing, ", ")));
  return warnings;
}

std::vector<std::string> load_weights(const fs::path& file, torch::nn::Module& module,
                                      const LoadOptions& options) {
  return load_state_dict(module, read_state_dict(file), options, file.string());
}

void export_weights(const fs::path& file, const torch::nn::Module& module) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (auto& [name, tensor] : state_dict_of(module)) dict.insert(name, tensor.contiguous());
  write_file_atomically(file, detail::pickle_untagged(dict));
}

StateDict from_seed_names(StateDict state) {
  // Children of torchvision's ResNet in order: conv1, bn1, relu, maxpool, layer1..4.
  static const std::array<std::pair<std::string_view, std::string_view>, 6> kIndices = {{
      {"0.", "conv1."}, {"1.", "bn1."}, {"4.", "layer1."},
      {"5.", "layer2."}, {"6.", "layer3."}, {"7.", "layer4."}}};
  for (auto& [key, tensor] : state) {
    if (starts_with(key, "module.")) key = key.substr(7);
    for (std::string_view trunk : {"base.", "base_mars."}) {
      if (!starts_with(key, trunk)) continue;
      const std::string_view rest = std::string_view(key).substr(trunk.size());
      for (const auto& [index, name] : kIndices) {
        if (starts_with(rest, index)) {
          key = std::string(trunk) + std::string(name) + std::string(rest.substr(index.size()));
          break;
        }
      }
      break;
    }
  }
  return state;
}

}  // namespace fgreid::models
