#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/run_state.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <mutex>

namespace fgreid::engine {

namespace {

/// The random generators' states, kept in checkpoints so that a resumed run draws on (the
/// CPU's only: CUDA kernels are not deterministic anyway, and a run may resume elsewhere).
NamedTensors generator_states() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return {{"rng.cpu", generator.get_state()}};
}

void restore_generators(const NamedTensors& states) {
  for (const auto& [name, state] : states)
    if (name == "rng.cpu") {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(state);
    }
}

/// Says which flags differ from those the checkpoint was trained with: resuming with other
/// flags is allowed (a longer schedule, another --print-every) but never silent.
void announce_changed_flags(const std::filesystem::path& file, const nlohmann::json& before,
                            const nlohmann::json& now) {
  std::string changed;
  for (const auto& [name, value] : now.items()) {
    if (name == "resume" || name == "output" || name == "overwrite") continue;  // differ by nature
    if (!before.contains(name) || before[name] != value)
      changed += fmt::format(" --{} {} (was {})", name, value.dump(),
                             before.contains(name) ? before[name].dump() : "unset");
  }
  if (!changed.empty())
    fmt::print(stderr, "[fgreid] resuming {} with flags that differ from its run:{}\n", file.string(), changed);
}

}  // namespace

nlohmann::json TrainingProgress::to_json() const {
  return {{"epoch", epoch}, {"step", step}, {"iteration", iteration}, {"best", best}};
}

TrainingProgress TrainingProgress::from_json(const nlohmann::json& json) {
  return {json.at("epoch").get<int>(), json.at("step").get<std::int64_t>(),
          json.at("iteration").get<std::int64_t>(), json.at("best").get<double>()};
}

RunState::RunState(models::ReidModuleImpl& model, const std::string& model_name,
                   ModelOptimizer& optimizer, GradScaler& scaler, TrainingLoss& loss, nlohmann::json meta)
    : meta(std::move(meta)),
      model_(model),
      model_name_(model_name),
      optimizer_(optimizer),
      scaler_(scaler),
      loss_(loss) {}

NamedTensors RunState::kept_tensors() const {
  auto state = loss_.state();
  for (const auto& entry : scaler_.state()) state.push_back(entry);
  return state;
}

void RunState::save(const std::filesystem::path& path) {
  auto meta_now = meta;
  meta_now["progress"] = progress.to_json();
  auto state = kept_tensors();
  for (const auto& entry : generator_states()) state.push_back(entry);
  optimizer_.sync_state();
  save_checkpoint(path, model_, meta_now, state, &optimizer_.torch_optimizer());
}

void RunState::save_model(const std::filesystem::path& path, int epoch) const {
  auto meta_now = meta;
  meta_now["epoch"] = epoch;
  save_checkpoint(path, model_, meta_now, loss_.state());
}

void RunState::resume(const std::filesystem::path& file, const std::string& recipe) {
  auto state = kept_tensors();
  auto generators = generator_states();
  for (auto& [name, tensor] : generators) tensor = tensor.clone();
  for (const auto& entry : generators) state.push_back(entry);
  const auto stored = load_checkpoint(file, model_, model_name_, state, &optimizer_.torch_optimizer());
  optimizer_.forget_device_state();
  if (stored.value("recipe", "") != recipe)
    throw DataError(fmt::format("{}: a checkpoint of recipe '{}', not '{}'", file.string(),
                                stored.value("recipe", "?"), recipe));
  if (!stored.contains("progress"))
    throw DataError(fmt::format("{}: holds no training progress (not written by a training run)",
                                file.string()));
  progress = TrainingProgress::from_json(stored["progress"]);
  restore_generators(generators);
  announce_changed_flags(file, stored.value("flags", nlohmann::json::object()),
                         meta.value("flags", nlohmann::json::object()));
}

std::filesystem::path resume_file(const std::filesystem::path& resume) {
  return std::filesystem::is_directory(resume) ? resume / "last.pt" : resume;
}

}  // namespace fgreid::engine
