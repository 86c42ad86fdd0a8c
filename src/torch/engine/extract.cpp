#include <fgreid/data/inputs.hpp>
#include <fgreid/detail/pickle.hpp>
#include <fgreid/dist/launch.hpp>
#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/extract.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/engine/progress.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/features.hpp>
#include <fgreid/eval/npy.hpp>
#include <fgreid/models/weights.hpp>

#include <fmt/format.h>

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <chrono>
#include <fstream>

namespace fgreid::engine {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMetaKey = "fgreid.meta";

/// Whether `file` is a checkpoint (a TorchScript-style archive with fgreid's meta record)
/// rather than an exported state dict (a torch.save pickle): the archive's records say.
bool is_checkpoint(const fs::path& file) {
  try {
    caffe2::serialize::PyTorchStreamReader reader(file.string());
    return reader.hasRecord("constants.pkl");  // torch.save pickles have none
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: neither a checkpoint nor exported weights ({})", file.string(),
                                library_reason(e.what_without_backtrace())));
  }
}

nlohmann::json checkpoint_meta(const fs::path& file) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string());
  } catch (const c10::Error& e) {
    throw DataError(fmt::format("{}: not a readable checkpoint ({})", file.string(),
                                library_reason(e.what_without_backtrace())));
  }
  c10::IValue text;
  if (!archive.try_read(kMetaKey, text) || !text.isString())
    throw DataError(fmt::format("{}: not an fgreid checkpoint (no {} record)", file.string(), kMetaKey));
  return nlohmann::json::parse(text.toStringRef(), nullptr, /*allow_exceptions=*/false);
}

void require_file(const fs::path& file) {
  if (file.empty()) throw UsageError("--extract-images needs --weights (best.pt, or --export-weights output)");
  if (!fs::is_regular_file(file)) throw DataError(fmt::format("{}: no such weights file", file.string()));
}

}  // namespace

std::int64_t classes_in_weights(const fs::path& weights) {
  require_file(weights);
  if (is_checkpoint(weights)) {
    const auto meta = checkpoint_meta(weights);
    if (!meta.is_object() || !meta.contains("num_classes") || !meta["num_classes"].is_number_integer())
      throw DataError(fmt::format("{}: its {} record holds no num_classes", weights.string(), kMetaKey));
    return meta["num_classes"].get<std::int64_t>();
  }
  for (const auto& [name, tensor] : models::read_state_dict(weights))
    if (name == "classifier.weight" && tensor.dim() == 2) return tensor.size(0);
  throw DataError(fmt::format("{}: exported weights without classifier.weight: not the weights of "
                              "an fgreid model", weights.string()));
}

namespace {

/// The flags that make a run's test features, which a checkpoint records: a different value
/// here gives other features than the run's own evaluation, so it is pointed out.
void note_test_flags(const fs::path& weights, const nlohmann::json& meta, const nlohmann::json& flags) {
  if (!meta.contains("flags") || !meta["flags"].is_object()) return;
  for (const auto* name : {"height", "width", "interpolation", "flip-test", "normalize-features",
                           "normalize-clips", "seq-len", "max-test-clips"}) {
    if (!meta["flags"].contains(name) || !flags.contains(name) || meta["flags"][name] == flags[name]) continue;
    fmt::print(stderr, "[fgreid] note: --{} {} here, {} in the run of {}\n", name, flags[name].dump(),
               meta["flags"][name].dump(), weights.string());
  }
}

}  // namespace

void load_trained_weights(const fs::path& weights, torch::nn::Module& model, const std::string& model_name,
                          const nlohmann::json& flags) {
  if (is_checkpoint(weights)) {
    note_test_flags(weights, load_checkpoint(weights, model, model_name), flags);
    return;
  }
  models::load_state_dict(model, models::read_state_dict(weights), models::LoadOptions{},
                          weights.string());
}

ExtractOutputs extract_outputs(const fs::path& file) {
  auto npy = file, paths = file;
  npy.replace_extension(".npy");
  paths.replace_extension(".paths.txt");
  if (npy == file) throw UsageError(fmt::format("--extract {}: the torch.load file needs another "
                                                "extension than .npy (e.g. feats.pt)", file.string()));
  return {file, npy, paths};
}

namespace {

std::vector<datasets::Entry> entries_of(const std::vector<fs::path>& inputs, bool video) {
  std::vector<datasets::Entry> entries;
  entries.reserve(inputs.size());
  for (const auto& input : inputs)
    entries.push_back(datasets::Entry{.images = video ? data::clip_frames(input) : std::vector{input}});
  return entries;
}

/// Plain progress lines on stderr, at most one every two seconds, and the last.
std::function<void(std::int64_t, std::int64_t)> progress_lines() {
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  return [start, last](std::int64_t done, std::int64_t total) mutable {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last < std::chrono::seconds(2)) return;
    last = now;
    const double seconds = std::chrono::duration<double>(now - start).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    fmt::print(stderr, "[fgreid] extracting {}/{} ({:.1f}/s, ETA {})\n", done, total, rate,
               Progress::duration(rate > 0 ? static_cast<double>(total - done) / rate : 0.0));
  };
}

/// extract_features over chunks of the entries, with a progress line after each: a few
/// hundred thousand photos take long enough to want one.
torch::Tensor chunked_features(models::ReidModuleImpl& model, const std::vector<datasets::Entry>& entries,
                               const samplers::ClipPlan& clips, const Settings& settings,
                               torch::Device device) {
  const auto chunk = static_cast<std::size_t>(std::max(settings.data.test_batch, 1)) * 16;
  auto progress = progress_lines();
  std::vector<torch::Tensor> parts;
  for (std::size_t first = 0; first < entries.size(); first += chunk) {
    const auto last = std::min(entries.size(), first + chunk);
    const std::vector<datasets::Entry> slice(entries.begin() + static_cast<std::ptrdiff_t>(first),
                                             entries.begin() + static_cast<std::ptrdiff_t>(last));
    parts.push_back(eval::extract_features(model, slice, clips, settings.data, settings.eval, device,
                                           eval::ForwardSettings::of(settings.run)));
    progress(static_cast<std::int64_t>(last), static_cast<std::int64_t>(entries.size()));
  }
  return torch::cat(parts);
}

void write_outputs(const ExtractOutputs& outputs, const torch::Tensor& features,
                   const std::vector<fs::path>& inputs) {
  c10::List<std::string> names;
  std::string lines;
  for (const auto& input : inputs) {
    names.push_back(input.string());
    lines += input.string() + "\n";
  }
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("features", features.contiguous());
  dict.insert("paths", names);
  const auto bytes = detail::pickle_untagged(dict);
  eval::NpyWriter npy(outputs.npy, features.size(0), features.size(1));
  npy.append(std::span<const float>(features.data_ptr<float>(), static_cast<std::size_t>(features.numel())));
  npy.commit();
  write_file_atomically(outputs.paths, lines);
  write_file_atomically(outputs.tensors, bytes);
}

}  // namespace

int extract_images(const Job& job, models::ReidModuleImpl& model, const samplers::ClipPlan& clips) {
  const auto& settings = job.settings;
  if (settings.run.extract.empty())
    throw UsageError("--extract-images needs --extract FILE (the features file to write, e.g. feats.pt)");
  if (const auto launch = dist::launch_from(dist::process_environment()); launch && launch->world_size > 1)
    throw UsageError("--extract-images runs in one process, not under torchrun");
  const auto outputs = extract_outputs(settings.run.extract);
  load_trained_weights(settings.run.weights, model, job.model_name, job.flags);
  const bool video = static_cast<bool>(clips);
  const auto inputs = data::find_inputs(settings.run.extract_images, video ? Modality::video : Modality::image);
  const auto entries = entries_of(inputs, video);
  const torch::Device device = select_device(settings.run.device);
  model.to(device);
  fmt::print(stderr, "[fgreid] {}: {} {} from {} with {}, device {}\n", job.recipe, entries.size(),
             video ? "clips" : "images", settings.run.extract_images, settings.run.weights.string(),
             device.str());
  const auto features = chunked_features(model, entries, clips, settings, device);
  write_outputs(outputs, features, inputs);
  const nlohmann::json summary{{"count", features.size(0)},
                               {"dim", features.size(1)},
                               {"features", outputs.tensors.string()},
                               {"npy", outputs.npy.string()},
                               {"paths", outputs.paths.string()}};
  fmt::print("{}\n", summary.dump());
  return 0;
}

}  // namespace fgreid::engine
