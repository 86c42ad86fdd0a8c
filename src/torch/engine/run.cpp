#include <fgreid/dist/world.hpp>
#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/checkpoint_sweep.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/engine/host_memory.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/engine/run_state.hpp>
#include <fgreid/engine/trainer.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/evaluator.hpp>
#include <fgreid/eval/features_file.hpp>
#include <fgreid/models/batch_norm.hpp>
#include <fgreid/models/summary.hpp>
#include <fgreid/models/weights.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

namespace fgreid::engine {

namespace {

/// st-ReID's histograms and fusion need every entry's frame number. An entry without one (a
/// dataset without time stamps, a Market-1501 name beyond the release's sequences) is named
/// before training, not after it.
void check_frames_for_st_reid(const datasets::Splits& splits) {
  for (const auto* subset : {&splits.train, &splits.query, &splits.gallery})
    for (const auto& entry : *subset)
      if (entry.frame < 0)
        throw UsageError(fmt::format("--st-reid: {}: frame number unknown (st-ReID needs one for "
                                     "every training, query and gallery image)",
                                     entry.images.front().string()));
}

/// Flag combinations that cannot run, refused before anything is loaded or written.
void check_request(const Job& job, const Parts& parts) {
  const auto& settings = job.settings;
  if (settings.suite.st_reid) check_frames_for_st_reid(job.splits);
  if (settings.eval.visualize_attention > 0 && !parts.pictures.attention)
    throw UsageError(fmt::format("--visualize-attention: {} has no spatial attention map",
                                 job.model_name));
  if (!settings.run.resume.empty() && settings.run.evaluate)
    throw UsageError("--resume continues training; --evaluate takes --weights instead");
  if (settings.run.evaluate && settings.run.weights.empty())
    throw UsageError("--evaluate needs --weights CHECKPOINT");
  if (!settings.run.checkpoints.empty() && (settings.run.evaluate || !settings.run.resume.empty()))
    throw UsageError("--checkpoints evaluates a run's checkpoints; it takes neither --evaluate nor --resume");
  const auto launch = dist::launch_from(dist::process_environment());
  if (launch && launch->world_size > 1 && (settings.run.evaluate || !settings.run.checkpoints.empty()))
    throw UsageError("--evaluate and --checkpoints run in one process, not under torchrun");
  if (settings.train.keep_every < 0)
    throw UsageError(fmt::format("--keep-every {}: must be 0 (none) or more", settings.train.keep_every));
}

/// --pretrained, --pretrained-second and --init-from, in that order, on the CPU.
void load_initial_weights(models::ReidModuleImpl& model, const WeightsOptions& weights) {
  const auto trunks = model.trunks();
  const std::array<std::pair<const char*, const std::filesystem::path*>, 2> sources{
      {{"--pretrained", &weights.pretrained}, {"--pretrained-second", &weights.pretrained_second}}};
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto& [flag, file] = sources[i];
    if (file->empty()) continue;
    if (i >= trunks.size())
      throw UsageError(fmt::format("{}: this model has only {} trunk", flag, trunks.size()));
    const auto& [name, trunk] = trunks[i];
    const auto warnings = models::load_weights(
        *file, *trunk, models::LoadOptions{.strict = weights.strict, .skip_prefixes = {"fc."}});
    fmt::print(stderr, "[fgreid] {} loaded into {}{}\n", file->string(), name,
               warnings.empty() ? "" : fmt::format(" ({} missing keys: {})", warnings.size(),
                                                   fmt::join(warnings, ", ")));
  }
  if (!weights.init_from.empty())
    fmt::print(stderr, "[fgreid] initialised from {}\n",
               init_from_checkpoint(weights.init_from, model, weights.init_from_prefix));
}

/// Convolution weights (4-D) in channels-last layout, in place.
void to_channels_last(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : model.parameters())
    if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(at::MemoryFormat::ChannelsLast));
}

/// Under torchrun: this rank's device (cuda:LOCAL_RANK where there are GPUs) and the process
/// group, which becomes dist::world(). Alone: the device --device picks.
torch::Device join_ranks(const Settings& settings) {
  auto device = select_device(settings.run.device);
  const auto launch = dist::launch_from(dist::process_environment());
  if (!launch) return device;
  if (device.is_cuda()) device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch->local_rank));
  const auto& dist = settings.dist;
  dist::set_world(dist::World::join(*launch, dist.dist_backend, device, std::chrono::seconds(dist.dist_timeout)));
  const auto& world = dist::world();
  models::set_batch_norm_sync(dist.sync_bn && world.size() > 1);
  fmt::print(stderr, "[fgreid] rank {} of {} ({} on {}, local rank {}), BatchNorm {}, loss on the {} batch\n",
             world.rank(), world.size(), world.backend_name(), device.str(), world.local_rank(),
             dist.sync_bn ? "synchronised" : "per rank",
             EnumNames<LossBatch>::values[static_cast<std::size_t>(dist.loss_batch)]);
  return device;
}

/// The run's device, with the model and the loss's state moved there.
torch::Device place(Parts& parts, const Settings& settings) {
  const auto& run = settings.run;
  const torch::Device device = join_ranks(settings);
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(run.cudnn_benchmark);
  if (!device.is_cuda() && run.amp == AmpMode::fp16)
    fmt::print(stderr, "[fgreid] --amp fp16 on the CPU: LibTorch emulates half precision there, "
                       "several times slower than --amp off; bf16 or off is what the CPU runs well\n");
  parts.model->to(device);
  if (run.channels_last) to_channels_last(*parts.model);
  parts.loss->to(device);
  return device;
}

/// The outputs every finished run writes: --export-weights, --extract, metrics.json, and the
/// metrics as the last line on stdout.
int finish(const Job& job, models::ReidModuleImpl& model, const std::filesystem::path& output,
           eval::Evaluation evaluation) {
  const auto& settings = job.settings;
  if (!settings.weights.export_weights.empty()) {
    models::export_weights(settings.weights.export_weights, model);
    fmt::print(stderr, "[fgreid] weights written to {}\n", settings.weights.export_weights.string());
  }
  if (!settings.run.extract.empty()) {
    eval::save_features(settings.run.extract, evaluation.features);
    fmt::print(stderr, "[fgreid] features written to {}\n", settings.run.extract.string());
  }
  auto& metrics = evaluation.metrics;
  metrics["recipe"] = job.recipe;
  metrics["output"] = output.string();
  write_file_atomically(output / "metrics.json", metrics.dump(2) + "\n");
  fmt::print("{}\n", metrics.dump());
  std::fflush(stdout);
  return 0;
}

/// --evaluate: the checkpoint of --weights, evaluated once.
int evaluate_checkpoint(const Job& job, Parts& parts, const eval::Evaluator& evaluator,
                        torch::Device device) {
  auto& model = *parts.model;
  const auto meta = load_for_evaluation(job.settings.run.weights, model, job.model_name, parts.loss->state());
  if (!meta["skipped"].empty())
    fmt::print(stderr, "[fgreid] {} is a run of '{}' with {} identities: not on the test path, left out: {}\n",
               job.settings.run.weights.string(), meta.value("recipe", "?"), meta.value("num_classes", 0),
               fmt::join(meta["skipped"].get<std::vector<std::string>>(), ", "));
  const auto output = open_run_folder(job, run_meta(job), device);
  return finish(job, model, output, evaluator(model, device, output, "evaluate"));
}

/// Training from the start or from --resume, then the outputs of its last evaluation.
int train(const Job& job, Parts& parts, const eval::Evaluator& evaluator, torch::Device device) {
  Trainer trainer(job, parts, evaluator, device);
  auto outcome = trainer.run();
  if (const int* stopped = std::get_if<int>(&outcome)) return *stopped;
  if (!dist::world().is_main()) return 0;  // rank 0 writes the run's outputs
  return finish(job, *parts.model, trainer.output(), std::get<eval::Evaluation>(std::move(outcome)));
}

}  // namespace

namespace {

/// A torchrun attempt after the first (--max-restarts) continues from --output's last.pt: the
/// same command line then resumes, as the one before it died would have.
Job resume_after_restart(const Job& job) {
  const auto launch = dist::launch_from(dist::process_environment());
  const auto& run = job.settings.run;
  if (!launch || launch->restart == 0 || !run.resume.empty() || run.output.empty() ||
      !std::filesystem::exists(run.output / "last.pt"))
    return job;
  fmt::print(stderr, "[fgreid] torchrun restart {}: resuming from {}\n", launch->restart,
             (run.output / "last.pt").string());
  Job restarted = job;
  restarted.settings.run.resume = run.output;
  return restarted;
}

}  // namespace

int execute(const Job& given, Parts parts) {
  const Job job = resume_after_restart(given);
  keep_freed_host_memory();
  check_request(job, parts);
  const auto& settings = job.settings;
  if (settings.run.resume.empty()) load_initial_weights(*parts.model, settings.weights);
  if (settings.weights.print_model) {
    fmt::print("{}", models::format_summary(models::describe_model(*parts.model, settings.data.height,
                                                                   settings.data.width)));
    return 0;
  }
  const torch::Device device = place(parts, settings);
  const eval::Evaluator evaluator(job.splits, settings, parts.sampler->test_clips(), parts.pictures);
  if (!settings.run.checkpoints.empty()) return evaluate_checkpoints(job, parts, evaluator, device);
  return settings.run.evaluate ? evaluate_checkpoint(job, parts, evaluator, device)
                               : train(job, parts, evaluator, device);
}

torch::Device select_device(DeviceChoice choice) {
  const bool cuda = torch::cuda::is_available();
  if (choice == DeviceChoice::cuda && !cuda)
    throw UsageError("--device cuda: LibTorch sees no CUDA device on this machine");
  return (choice != DeviceChoice::cpu && cuda) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

namespace {

namespace fs = std::filesystem;

constexpr std::array kRunFiles{"config.json", "log.jsonl", "last.pt", "best.pt", "metrics.json"};

/// A folder holds a run when it has any of the files a run writes.
bool holds_a_run(const fs::path& folder) {
  return std::ranges::any_of(kRunFiles, [&](const char* name) { return fs::exists(folder / name); });
}

/// --overwrite: the replaced run's files go before the new run starts, so that its log is not
/// appended to and its checkpoints are not taken for the new run's by a later --resume.
void remove_run_files(const fs::path& folder) {
  for (const char* name : kRunFiles) fs::remove(folder / name);
  for (const auto& entry : fs::directory_iterator(folder)) {
    const auto name = entry.path().filename().string();
    if (name.starts_with("epoch_") && name.ends_with(".pt")) fs::remove(entry.path());
  }
}

/// The folder of the checkpoint --resume names ("" without --resume).
fs::path resumed_folder(const Job& job) {
  if (job.settings.run.resume.empty()) return {};
  const auto folder = resume_file(job.settings.run.resume).parent_path();
  return folder.empty() ? fs::path(".") : folder;
}

/// runs/<recipe>/<local time>, or <local time>-2, -3, ...: made here by mkdir, which only one
/// process can win, so two runs started in the same second never share a folder.
fs::path new_default_folder(const Job& job) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  ::localtime_r(&now, &local);
  std::array<char, 32> stamp{};
  std::strftime(stamp.data(), stamp.size(), "%Y%m%d-%H%M%S", &local);
  const auto parent = fs::path("runs") / job.recipe;
  fs::create_directories(parent);
  for (int n = 1;; ++n) {
    auto folder = parent / (n == 1 ? std::string(stamp.data()) : fmt::format("{}-{}", stamp.data(), n));
    if (fs::create_directory(folder)) return folder;
  }
}

/// The folder this run writes into, made if new; see open_run_folder.
fs::path claim_run_folder(const Job& job) {
  const auto& run = job.settings.run;
  const auto resumed = resumed_folder(job);
  if (run.output.empty()) return resumed.empty() ? new_default_folder(job) : resumed;
  std::error_code same_error;
  const bool resuming_here = !resumed.empty() && fs::equivalent(resumed, run.output, same_error);
  if (fs::exists(run.output) && !fs::is_directory(run.output))
    throw UsageError(fmt::format("--output {}: exists and is not a folder", run.output.string()));
  if (holds_a_run(run.output) && !resuming_here) {
    if (!run.overwrite)
      throw UsageError(fmt::format("--output {}: holds another run (its config.json, log.jsonl or "
                                   "checkpoints); --resume {} continues it, --overwrite replaces "
                                   "its files, or name a new folder",
                                   run.output.string(), run.output.string()));
    remove_run_files(run.output);
  }
  fs::create_directories(run.output);
  return run.output;
}

}  // namespace

nlohmann::json run_meta(const Job& job) {
  return {{"recipe", job.recipe},
          {"model", job.model_name},
          {"num_classes", job.splits.num_train_ids()},
          {"flags", job.flags}};
}

std::filesystem::path open_run_folder(const Job& job, const nlohmann::json& meta, torch::Device device) {
  fs::path output;
  try {
    output = claim_run_folder(job);
  } catch (const fs::filesystem_error& error) {
    throw DataError(fmt::format("{}: cannot make the output folder ({})", error.path1().string(),
                                error.code().message()));
  }
  write_file_atomically(output / "config.json", meta.dump(2) + "\n");
  fmt::print(stderr, "[fgreid] {}: device {}, {} threads, amp {}, output {}\n", job.recipe,
             device.str(), at::get_num_threads(),
             EnumNames<AmpMode>::values[static_cast<std::size_t>(job.settings.run.amp)], output.string());
  return output;
}

}  // namespace fgreid::engine
