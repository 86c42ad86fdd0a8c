#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <sstream>

namespace fgreid::engine {

namespace {
constexpr const char* kMetaKey = "fgreid.meta";
constexpr const char* kOptimizerKey = "fgreid.optimizer";

std::vector<std::pair<std::string, torch::Tensor>> named_state(const torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& item : model.named_parameters()) state.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers()) state.emplace_back(item.key(), item.value());
  return state;
}
}  // namespace

void save_checkpoint(const std::filesystem::path& path, const torch::nn::Module& model,
                     const nlohmann::json& meta,
                     const std::vector<std::pair<std::string, torch::Tensor>>& extra,
                     const torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write(kMetaKey, c10::IValue(meta.dump()));
  auto state = named_state(model);
  state.insert(state.end(), extra.begin(), extra.end());
  for (const auto& [name, tensor] : state)
    archive.write(name, tensor.detach().to(torch::kCPU), tensor.is_floating_point() ? false : true);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive state;
    optimizer->save(state);
    archive.write(kOptimizerKey, state);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

namespace {
/// Opens a checkpoint and reads its meta record; DataError naming the file otherwise.
nlohmann::json open_checkpoint(const std::filesystem::path& path,
                               torch::serialize::InputArchive& archive) {
  if (!std::filesystem::is_regular_file(path))
    throw DataError(fmt::format("{}: no such checkpoint file", path.string()));
  nlohmann::json meta;
  try {
    archive.load_from(path.string());
    c10::IValue text;
    if (!archive.try_read(kMetaKey, text) || !text.isString())
      throw DataError(fmt::format("{}: not an fgreid checkpoint (no {} record)", path.string(),
                                  kMetaKey));
    meta = nlohmann::json::parse(text.toStringRef());
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: not a readable checkpoint ({})", path.string(),
                                library_reason(e.what_without_backtrace())));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(fmt::format("{}: a corrupt {} record ({})", path.string(), kMetaKey, e.what()));
  }
  return meta;
}
}  // namespace

namespace {
/// Copies the stored tensors of `state`'s names into them. A tensor stored in another shape is
/// left as it is and listed when `skippable(name)`; any other misfit is a DataError.
std::vector<std::string> copy_stored(const std::filesystem::path& path,
                                     torch::serialize::InputArchive& archive,
                                     std::vector<std::pair<std::string, torch::Tensor>>& state,
                                     const std::function<bool(const std::string&)>& skippable) {
  std::vector<std::string> missing, mismatched, skipped;
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : state) {
    torch::Tensor stored;
    if (!archive.try_read(name, stored)) {
      missing.push_back(name);
    } else if (stored.sizes() != tensor.sizes()) {
      (skippable(name) ? skipped : mismatched)
          .push_back(name + " " + c10::str(stored.sizes()) + " vs " + c10::str(tensor.sizes()));
    } else {
      tensor.copy_(stored);
    }
  }
  if (!missing.empty() || !mismatched.empty())
    throw DataError(fmt::format("{}: does not fit this model: missing [{}], shape mismatch [{}]",
                                path.string(), fmt::join(missing, ", "),
                                fmt::join(mismatched, ", ")));
  return skipped;
}

void check_model(const std::filesystem::path& path, const nlohmann::json& meta,
                 const std::string& model_name) {
  if (meta.value("model", "") != model_name)
    throw DataError(fmt::format("{}: a checkpoint of model '{}' (recipe '{}'), but this recipe's "
                                "model is '{}'",
                                path.string(), meta.value("model", "?"), meta.value("recipe", "?"),
                                model_name));
}
}  // namespace

nlohmann::json load_for_evaluation(const std::filesystem::path& path, torch::nn::Module& model,
                                   const std::string& model_name,
                                   const std::vector<std::pair<std::string, torch::Tensor>>& extra) {
  torch::serialize::InputArchive archive;
  auto meta = open_checkpoint(path, archive);
  check_model(path, meta, model_name);
  auto state = named_state(model);
  const auto model_tensors = state.size();
  state.insert(state.end(), extra.begin(), extra.end());
  std::vector<std::string> off_test_path;
  for (std::size_t i = model_tensors; i < state.size(); ++i) off_test_path.push_back(state[i].first);
  const auto skipped = copy_stored(path, archive, state, [&](const std::string& name) {
    return name.starts_with("classifier.") || std::ranges::find(off_test_path, name) != off_test_path.end();
  });
  meta["skipped"] = skipped;
  return meta;
}

nlohmann::json load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                               const std::string& model_name,
                               const std::vector<std::pair<std::string, torch::Tensor>>& extra,
                               torch::optim::Optimizer* optimizer) {
  torch::serialize::InputArchive archive;
  const auto meta = open_checkpoint(path, archive);
  check_model(path, meta, model_name);
  auto state = named_state(model);
  state.insert(state.end(), extra.begin(), extra.end());
  copy_stored(path, archive, state, [](const std::string&) { return false; });
  if (optimizer != nullptr) {
    torch::serialize::InputArchive state;
    if (!archive.try_read(kOptimizerKey, state))
      throw DataError(fmt::format("{}: holds no optimizer state, so training cannot continue "
                                  "exactly from it", path.string()));
    try {
      optimizer->load(state);
    } catch (const c10::Error& e) {
      throw DataError(fmt::format("{}: its optimizer state does not fit this run's optimizer ({})",
                                  path.string(), library_reason(e.what_without_backtrace())));
    }
  }
  return meta;
}

std::string init_from_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                                 const std::string& prefix) {
  torch::serialize::InputArchive archive;
  const auto meta = open_checkpoint(path, archive);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::vector<std::string> missing, mismatched, dropped;
  for (auto& [name, tensor] : named_state(model)) {
    if (!name.starts_with(prefix)) continue;
    torch::Tensor stored;
    if (!archive.try_read(name, stored)) {
      missing.push_back(name);
    } else if (stored.sizes() != tensor.sizes()) {
      if (name.starts_with("classifier."))
        dropped.push_back(name);
      else
        mismatched.push_back(name + " " + c10::str(stored.sizes()) + " vs " +
                             c10::str(tensor.sizes()));
    } else {
      copies.emplace_back(tensor, stored);
    }
  }
  if (!missing.empty() || !mismatched.empty())
    throw DataError(fmt::format("{}: a checkpoint of model '{}' that does not fit this model{}: "
                                "missing [{}], shape mismatch [{}]",
                                path.string(), meta.value("model", "?"),
                                prefix.empty() ? "" : " under '" + prefix + "'",
                                fmt::join(missing, ", "), fmt::join(mismatched, ", ")));
  if (copies.empty())
    throw DataError(fmt::format("{}: holds no tensor under '{}'", path.string(), prefix));
  torch::NoGradGuard no_grad;
  for (auto& [target, stored] : copies) target.copy_(stored);
  return fmt::format("{} tensors from {} (model '{}', recipe '{}'){}", copies.size(),
                     path.string(), meta.value("model", "?"), meta.value("recipe", "?"),
                     dropped.empty() ? "" : "; its classifier has another identity count: dropped");
}

}  // namespace fgreid::engine
