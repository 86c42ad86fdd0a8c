#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/engine/host_memory.hpp>
#include <fgreid/engine/interrupt.hpp>
#include <fgreid/engine/optim.hpp>
#include <fgreid/engine/progress.hpp>
#include <fgreid/engine/curves.hpp>
#include <fgreid/engine/pictures.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/evaluate.hpp>
#include <fgreid/eval/pictures.hpp>
#include <fgreid/eval/suite.hpp>
#include <fgreid/eval/features_file.hpp>
#include <fgreid/eval/metrics.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/models/summary.hpp>
#include <fgreid/models/weights.hpp>

#include <csignal>
#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <cmath>
#include <fstream>
#include <unordered_map>

namespace fgreid::engine {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool evaluates_at(const TrainOptions& train, int epoch) {
  if (epoch == train.max_epoch - 1) return true;
  return epoch >= train.eval_start && (epoch - train.eval_start) % std::max(1, train.eval_every) == 0;
}

/// Appends one JSON object per line, flushed each time, so a killed run keeps its log.
class JsonLog {
 public:
  explicit JsonLog(const std::filesystem::path& path) : out_(path, std::ios::app) {
    if (!out_) throw DataError(fmt::format("{}: cannot open the log for writing", path.string()));
  }
  void write(const nlohmann::json& record) { out_ << record.dump() << '\n' << std::flush; }

 private:
  std::ofstream out_;
};

std::vector<std::int64_t> column(const std::vector<datasets::Entry>& entries,
                                 std::int64_t datasets::Entry::*field) {
  std::vector<std::int64_t> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(e.*field);
  return out;
}

torch::Tensor as_tensor(const std::vector<std::int64_t>& values) {
  return torch::tensor(values, torch::kLong);
}

struct Evaluation {
  nlohmann::json metrics;
  eval::FeatureSet features;
};

/// The column of `entries`' frames, or nothing when some frame is unknown (-1).
std::optional<torch::Tensor> known_frames(const std::vector<datasets::Entry>& entries) {
  const auto frames = column(entries, &datasets::Entry::frame);
  if (std::ranges::any_of(frames, [](std::int64_t frame) { return frame < 0; }))
    return std::nullopt;
  return as_tensor(frames);
}

std::vector<std::filesystem::path> first_images(const std::vector<datasets::Entry>& entries) {
  std::vector<std::filesystem::path> paths;
  paths.reserve(entries.size());
  for (const auto& entry : entries) paths.push_back(entry.images.front());
  return paths;
}

/// Image features, or for a video dataset each tracklet's mean over its test clips.
torch::Tensor features_of(models::ReidModuleImpl& model, const std::vector<datasets::Entry>& entries,
                          const Job& job, const EvalOptions& eval, torch::Device device) {
  return job.test_clips ? extract_video_features(model, entries, job.test_clips, job.data, eval, device)
                        : extract_features(model, entries, job.data, eval, device);
}

/// --visualize-attention and --plot-centers: the model's pictures after epoch `tag`.
void draw_model_pictures(models::ReidModuleImpl& model, const Job& job, const Parts& parts,
                         torch::Device device, const std::filesystem::path& output,
                         const std::string& tag) {
  if (job.eval.visualize_attention > 0) {
    auto& fgreid = dynamic_cast<models::FGReIDNetImpl&>(model);  // checked at start
    const auto indices = eval::sample_queries(job.splits.query.size(),
                                              static_cast<std::size_t>(job.eval.visualize_attention),
                                              static_cast<std::uint64_t>(job.run.seed));
    write_attention_overlays(fgreid, job.splits.query, indices,
                             data::ImageTransform{job.data.height, job.data.width, 0.0}, device,
                             output / fmt::format("attention_{}.png", tag));
  }
  if (job.eval.plot_centers) {
    // 16 identities × up to 4 images of the training set, as raw model features: the space
    // the centers live in (not the flip-summed, normalised test features).
    std::map<std::int64_t, int> taken;
    std::vector<datasets::Entry> sample;
    for (const auto& entry : job.splits.train)
      if ((taken.size() < 16 || taken.contains(entry.pid)) && taken[entry.pid] < 4) {
        ++taken[entry.pid];
        sample.push_back(entry);
      }
    const auto features = features_of(model, sample, job, EvalOptions{}, device);
    const auto labels = as_tensor(column(sample, &datasets::Entry::pid));
    auto params = model.named_parameters();
    const auto* classifier = params.find("classifier.weight");
    write_embedding_plot(parts.loss_centers(), classifier ? *classifier : torch::Tensor(),
                         features, labels, output / fmt::format("embedding_{}.png", tag));
  }
}

/// The protocol of datasets with repeated query/gallery draws (VehicleID's --trials): every
/// draw's visual metrics, averaged into `metrics` (each with its sample spread as <key>_std).
/// A test image's feature is computed once, in the first draw, which holds them all.
void average_over_trials(const eval::FeatureSet& first, const Job& job, nlohmann::json& metrics) {
  const auto& splits = job.splits;
  std::unordered_map<std::string, torch::Tensor> feature_of;
  for (std::size_t i = 0; i < splits.query.size(); ++i)
    feature_of[splits.query[i].images.front().string()] = first.query_features[static_cast<std::int64_t>(i)];
  for (std::size_t i = 0; i < splits.gallery.size(); ++i)
    feature_of[splits.gallery[i].images.front().string()] = first.gallery_features[static_cast<std::int64_t>(i)];
  auto gather = [&](const std::vector<datasets::Entry>& entries) {
    std::vector<torch::Tensor> rows;
    rows.reserve(entries.size());
    for (const auto& entry : entries) {
      const auto found = feature_of.find(entry.images.front().string());
      if (found == feature_of.end())
        throw DataError(fmt::format("{}: in a later draw but not in the first", entry.images.front().string()));
      rows.push_back(found->second);
    }
    return torch::stack(rows);
  };
  std::vector<nlohmann::json> runs{metrics};
  for (const auto& trial : splits.trials) {
    eval::FeatureSet set;
    set.query_features = gather(trial.query);
    set.gallery_features = gather(trial.gallery);
    set.query_pids = as_tensor(column(trial.query, &datasets::Entry::pid));
    set.gallery_pids = as_tensor(column(trial.gallery, &datasets::Entry::pid));
    set.query_camids = as_tensor(column(trial.query, &datasets::Entry::camid));
    set.gallery_camids = as_tensor(column(trial.gallery, &datasets::Entry::camid));
    eval::SuiteOptions visual_only;
    visual_only.protocol = job.suite.protocol;
    runs.push_back(eval::run_suite(set, job.eval.metric, job.eval.max_rank, visual_only, job.rerank,
                                   job.st, static_cast<std::uint64_t>(job.run.seed))
                       .metrics);
  }
  for (const auto& [key, value] : runs.front().items()) {
    if (!value.is_number() || key == "valid_queries") continue;
    double sum = 0, squares = 0;
    for (const auto& run : runs) sum += run.value(key, 0.0);
    const double mean = sum / static_cast<double>(runs.size());
    for (const auto& run : runs) squares += std::pow(run.value(key, 0.0) - mean, 2);
    metrics[key] = mean;
    metrics[key + "_std"] = std::sqrt(squares / static_cast<double>(runs.size() - 1));
  }
  metrics["trials"] = runs.size();
}

/// Features of query and gallery, then every evaluation the flags ask for; pictures go to
/// `output` (cmc.png always, ranks.png with --visualize-ranks).
Evaluation evaluate(models::ReidModuleImpl& model, const Job& job, torch::Device device,
                    const std::filesystem::path& output) {
  const auto start = Clock::now();
  const auto& splits = job.splits;
  eval::FeatureSet set;
  set.query_features = features_of(model, splits.query, job, job.eval, device);
  set.gallery_features = features_of(model, splits.gallery, job, job.eval, device);
  set.query_pids = as_tensor(column(splits.query, &datasets::Entry::pid));
  set.gallery_pids = as_tensor(column(splits.gallery, &datasets::Entry::pid));
  set.query_camids = as_tensor(column(splits.query, &datasets::Entry::camid));
  set.gallery_camids = as_tensor(column(splits.gallery, &datasets::Entry::camid));
  set.query_frames = known_frames(splits.query);
  set.gallery_frames = known_frames(splits.gallery);
  if (auto train_frames = known_frames(splits.train); train_frames && !splits.train.empty()) {
    set.train_pids = as_tensor(column(splits.train, &datasets::Entry::pid));
    set.train_camids = as_tensor(column(splits.train, &datasets::Entry::camid));
    set.train_frames = std::move(train_frames);
  }
  if (job.suite.st_reid)
    if (const auto why = eval::st_reid_unavailable(set); !why.empty())
      throw UsageError("--st-reid: " + why);
  auto suite = job.suite;
  if (suite.cmc_plot.empty()) suite.cmc_plot = output / "cmc.png";
  auto result = eval::run_suite(set, job.eval.metric, job.eval.max_rank, suite, job.rerank,
                                job.st, static_cast<std::uint64_t>(job.run.seed));
  if (!splits.trials.empty()) average_over_trials(set, job, result.metrics);
  if (job.eval.visualize_ranks > 0) {
    const auto query_ids = column(splits.query, &datasets::Entry::pid);
    const auto query_cams = column(splits.query, &datasets::Entry::camid);
    const auto gallery_ids = column(splits.gallery, &datasets::Entry::pid);
    const auto gallery_cams = column(splits.gallery, &datasets::Entry::camid);
    const auto query_images = first_images(splits.query), gallery_images = first_images(splits.gallery);
    eval::write_rank_grids(output / "ranks.png", result.final_distances,
                           eval::Labels{query_ids, query_cams}, eval::Labels{gallery_ids, gallery_cams},
                           query_images, gallery_images,
                           static_cast<std::size_t>(job.eval.visualize_ranks), 10,
                           static_cast<std::uint64_t>(job.run.seed));
  }
  result.metrics["eval_seconds"] = seconds_since(start);
  return {std::move(result.metrics), std::move(set)};
}

std::filesystem::path output_folder(const Job& job) {
  if (!job.run.output.empty()) return job.run.output;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  ::localtime_r(&now, &local);
  std::array<char, 32> stamp{};
  std::strftime(stamp.data(), stamp.size(), "%Y%m%d-%H%M%S", &local);
  return std::filesystem::path("runs") / job.recipe / stamp.data();
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

}  // namespace

torch::Device select_device(DeviceChoice choice) {
  const bool cuda = torch::cuda::is_available();
  if (choice == DeviceChoice::cuda && !cuda)
    throw UsageError("--device cuda: LibTorch sees no CUDA device on this machine");
  return (choice != DeviceChoice::cpu && cuda) ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

torch::Tensor extract_features(models::ReidModuleImpl& model,
                               const std::vector<datasets::Entry>& entries,
                               const DataOptions& data, const EvalOptions& eval,
                               torch::Device device) {
  torch::NoGradGuard no_grad;
  model.eval();
  data::BatchLoader loader(entries, data::sequential_batches(static_cast<std::int64_t>(entries.size()),
                                                             data.test_batch),
                           data::Pipeline(data.height, data.width, data.augment, /*train=*/false),
                           data::LoaderOptions{data.workers, data.prefetch, device.is_cuda(), 0});
  std::vector<torch::Tensor> parts;
  while (auto batch = loader.next()) {
    auto images = batch->images.to(device, /*non_blocking=*/true);
    auto features = model.forward(images);
    if (eval.flip_test) features = features + model.forward(images.flip({3}));
    if (eval.normalize_features)
      features = torch::nn::functional::normalize(features,
                                                  torch::nn::functional::NormalizeFuncOptions().dim(1));
    parts.push_back(features.to(torch::kCPU, torch::kFloat));
  }
  if (parts.empty()) return torch::empty({0, model.feature_dim()});
  return torch::cat(parts);
}

namespace {

/// The checkpoint --resume names: a file, or a run folder's last.pt.
std::filesystem::path resume_file(const std::filesystem::path& resume) {
  return std::filesystem::is_directory(resume) ? resume / "last.pt" : resume;
}

/// Where training stands, kept in checkpoints' meta["progress"] for --resume.
struct TrainProgress {
  int epoch = 0;            ///< 0-based epoch in progress
  std::int64_t step = 0;    ///< its batches already trained
  std::int64_t iteration = 0;
  double best = -1;         ///< best --best-metric so far
  nlohmann::json to_json() const {
    return {{"epoch", epoch}, {"step", step}, {"iteration", iteration}, {"best", best}};
  }
  static TrainProgress from_json(const nlohmann::json& j) {
    return {j.at("epoch").get<int>(), j.at("step").get<std::int64_t>(),
            j.at("iteration").get<std::int64_t>(), j.at("best").get<double>()};
  }
};

/// The random generators' states, kept in checkpoints so that a resumed run draws on.
/// (The CPU's only: CUDA kernels are not deterministic anyway, and a run may resume on another
/// device.)
std::vector<std::pair<std::string, torch::Tensor>> generator_states() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return {{"rng.cpu", generator.get_state()}};
}

void restore_generators(const std::vector<std::pair<std::string, torch::Tensor>>& states) {
  for (const auto& [name, state] : states)
    if (name == "rng.cpu") {
      auto generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(state);
    }
}

const char* metric_key(SelectionMetric metric) {
  return metric == SelectionMetric::mAP ? "mAP" : "rank1";
}

/// Convolution weights (4-D) in channels-last layout, in place.
void to_channels_last(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : model.parameters())
    if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(at::MemoryFormat::ChannelsLast));
}

}  // namespace

int execute(const Job& job, Parts parts) {
  keep_freed_host_memory();
  job.suite.check(job.rerank, job.st);
  if (job.eval.visualize_attention > 0 && dynamic_cast<models::FGReIDNetImpl*>(parts.model.get()) == nullptr)
    throw UsageError(fmt::format("--visualize-attention: {} has no spatial attention map",
                                 job.model_name));
  if (!job.run.resume.empty() && job.run.evaluate)
    throw UsageError("--resume continues training; --evaluate takes --weights instead");
  auto& model = *parts.model;
  if (job.run.resume.empty()) load_initial_weights(model, job.weights);
  if (job.weights.print_model) {
    fmt::print("{}", models::format_summary(
                         models::describe_model(model, job.data.height, job.data.width)));
    return 0;
  }
  const torch::Device device = select_device(job.run.device);
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(job.run.cudnn_benchmark);
  model.to(device);
  if (job.run.channels_last) to_channels_last(model);
  parts.loss_state_to(device);

  std::vector<std::pair<std::string, torch::Tensor>> loss_state;
  if (auto centers = parts.loss_centers(); centers.defined())
    loss_state.emplace_back("loss.centers", centers);
  const auto num_classes = job.splits.num_train_ids();

  if (job.run.evaluate) {
    if (job.run.weights.empty()) throw UsageError("--evaluate needs --weights CHECKPOINT");
    load_checkpoint(job.run.weights, model, job.model_name, loss_state);
  }

  auto optimizer = make_optimizer(model, job.train);
  GradScaler scaler(job.run.amp == AmpMode::fp16, device);
  TrainProgress progress;
  std::filesystem::path output = output_folder(job);
  if (!job.run.resume.empty()) {
    // Everything is read and checked before anything is written: a wrong file leaves the run
    // folder as it was.
    const auto file = resume_file(job.run.resume);
    auto state = loss_state;
    for (const auto& entry : scaler.state()) state.push_back(entry);
    auto generators = generator_states();
    for (auto& [name, tensor] : generators) tensor = tensor.clone();
    for (const auto& entry : generators) state.push_back(entry);
    const auto meta = load_checkpoint(file, model, job.model_name, state, optimizer.get());
    if (meta.value("recipe", "") != job.recipe)
      throw DataError(fmt::format("{}: a checkpoint of recipe '{}', not '{}'", file.string(),
                                  meta.value("recipe", "?"), job.recipe));
    if (!meta.contains("progress"))
      throw DataError(fmt::format("{}: holds no training progress (not written by a training run)",
                                  file.string()));
    progress = TrainProgress::from_json(meta["progress"]);
    restore_generators(generators);
    if (job.run.output.empty()) output = file.parent_path().empty() ? "." : file.parent_path();
    fmt::print(stderr, "[fgreid] resuming {} at epoch {} iteration {}\n", file.string(),
               progress.epoch + 1, progress.step);
  }
  std::filesystem::create_directories(output);
  nlohmann::json meta{{"recipe", job.recipe},
                      {"model", job.model_name},
                      {"num_classes", num_classes},
                      {"flags", job.flags}};
  write_file_atomically(output / "config.json", meta.dump(2) + "\n");
  fmt::print(stderr, "[fgreid] {}: device {}, {} threads, amp {}, output {}\n", job.recipe,
             device.str(), at::get_num_threads(),
             EnumNames<AmpMode>::values[static_cast<std::size_t>(job.run.amp)], output.string());

  auto finish = [&](nlohmann::json metrics, const eval::FeatureSet& features) {
    if (!job.weights.export_weights.empty()) {
      models::export_weights(job.weights.export_weights, model);
      fmt::print(stderr, "[fgreid] weights written to {}\n", job.weights.export_weights.string());
    }
    if (!job.run.extract.empty()) {
      eval::save_features(job.run.extract, features);
      fmt::print(stderr, "[fgreid] features written to {}\n", job.run.extract.string());
    }
    metrics["recipe"] = job.recipe;
    metrics["output"] = output.string();
    write_file_atomically(output / "metrics.json", metrics.dump(2) + "\n");
    fmt::print("{}\n", metrics.dump());
    std::fflush(stdout);
    return 0;
  };

  if (job.run.evaluate) {
    auto evaluation = evaluate(model, job, device, output);
    draw_model_pictures(model, job, parts, device, output, "evaluate");
    return finish(std::move(evaluation.metrics), evaluation.features);
  }

  std::vector<torch::Tensor> scaled_parameters = model.parameters();
  if (auto centers = parts.loss_centers(); centers.defined()) scaled_parameters.push_back(centers);
  auto save = [&](const std::filesystem::path& path) {
    meta["progress"] = progress.to_json();
    auto state = loss_state;
    for (const auto& entry : scaler.state()) state.push_back(entry);
    for (const auto& entry : generator_states()) state.push_back(entry);
    save_checkpoint(path, model, meta, state, optimizer.get());
  };

  JsonLog log(output / "log.jsonl");
  InterruptGuard interrupts;
  const long interrupt_after = interrupt_after_iteration();
  Progress display(stderr_is_terminal(), job.train.print_every);
  auto batches = std::max<std::int64_t>(1, parts.batches_per_epoch);
  if (job.train.epoch_iterations > 0) batches = std::min(batches, job.train.epoch_iterations);
  const auto total_iterations = batches * job.train.max_epoch;
  nlohmann::json last_metrics;
  eval::FeatureSet last_features;
  const auto run_start = Clock::now();
  const auto first_iteration = progress.iteration;

  for (int epoch = progress.epoch; epoch < job.train.max_epoch; ++epoch) {
    const double lr = job.train.lr * lr_factor(job.train, epoch);
    set_learning_rate(*optimizer, lr);
    model.train();
    const auto seed = static_cast<std::uint64_t>(job.run.seed) * 1000003u + static_cast<std::uint64_t>(epoch);
    const std::int64_t skip = epoch == progress.epoch ? progress.step : 0;
    auto source = [source = parts.epoch_batches(seed), left = batches]() mutable {
      return left-- > 0 ? source() : std::nullopt;
    };
    for (std::int64_t i = 0; i < skip; ++i) source();
    data::BatchLoader loader(job.splits.train, std::move(source),
                             data::Pipeline(job.data.height, job.data.width, job.data.augment,
                                            /*train=*/true),
                             data::LoaderOptions{job.data.workers, job.data.prefetch,
                                                 device.is_cuda(), seed, parts.train_frames,
                                                 static_cast<std::uint64_t>(skip)});
    progress.epoch = epoch;
    progress.step = skip;
    auto window_start = Clock::now();
    std::int64_t window_images = 0;
    double window_wait = loader.wait_seconds();
    while (auto batch = loader.next()) {
      auto images = batch->images.to(device, /*non_blocking=*/true);
      if (job.run.channels_last && images.dim() == 4)
        images = images.contiguous(at::MemoryFormat::ChannelsLast);
      auto labels = batch->pids.to(device, /*non_blocking=*/true);
      losses::LossResult result;
      {
        AutocastScope autocast(device, job.run.amp);
        auto output_train = model.forward_train(images);
        result = parts.loss(output_train, labels);
      }
      optimizer->zero_grad();
      scaler.scale(result.total).backward();
      if (scaler.unscale(scaled_parameters)) {
        optimizer->step();
        parts.loss_step();
      } else {
        for (auto& parameter : scaled_parameters) parameter.mutable_grad() = torch::Tensor();
      }
      scaler.update();
      ++progress.iteration;
      ++progress.step;
      window_images += images.size(0);
      if (display.due(progress.step, batches)) {
        const double elapsed = std::max(seconds_since(window_start), 1e-9);
        const double per_iteration =
            seconds_since(run_start) / static_cast<double>(progress.iteration - first_iteration);
        ProgressState state{.epoch = epoch + 1,
                            .epochs = job.train.max_epoch,
                            .step = progress.step,
                            .steps = batches,
                            .loss = result.total.item<double>(),
                            .terms = {},
                            .lr = lr,
                            .images_per_s = window_images / elapsed,
                            .data_wait = (loader.wait_seconds() - window_wait) / elapsed,
                            .eta_seconds = per_iteration *
                                           static_cast<double>(total_iterations - progress.iteration)};
        nlohmann::json record{{"epoch", epoch + 1},         {"iteration", progress.step},
                              {"iterations", batches},      {"global_iteration", progress.iteration},
                              {"loss", state.loss},         {"lr", lr},
                              {"images_per_s", state.images_per_s}, {"data_wait", state.data_wait}};
        for (const auto& [name, value] : result.terms) {
          state.terms.emplace_back(name, value.item<double>());
          record[name] = state.terms.back().second;
        }
        display.show(state);
        log.write(record);
        window_start = Clock::now();
        window_images = 0;
        window_wait = loader.wait_seconds();
      }
      if (interrupt_after > 0 && progress.iteration == interrupt_after) std::raise(SIGINT);
      if (const int signal = InterruptGuard::requested(); signal != 0) {
        display.interrupt_line();
        save(output / "last.pt");
        fmt::print(stderr,
                   "[fgreid] stopped by signal {} after epoch {} iteration {}/{}; {} written. "
                   "Resume with: recipe_{} --resume {} (and the same flags)\n",
                   signal, epoch + 1, progress.step, batches, (output / "last.pt").string(),
                   job.recipe, output.string());
        return InterruptGuard::exit_code(signal);
      }
    }
    if (evaluates_at(job.train, epoch)) {
      display.interrupt_line();
      auto evaluation = evaluate(model, job, device, output);
      draw_model_pictures(model, job, parts, device, output, fmt::format("epoch_{:03d}", epoch + 1));
      evaluation.metrics["epoch"] = epoch + 1;
      fmt::print(stderr, "[fgreid] evaluation after epoch {}: rank-1 {:.4f} mAP {:.4f} ({:.1f} s)\n",
                 epoch + 1, evaluation.metrics["rank1"].get<double>(),
                 evaluation.metrics["mAP"].get<double>(),
                 evaluation.metrics["eval_seconds"].get<double>());
      log.write({{"evaluation", evaluation.metrics}});
      if (job.train.plot) write_training_curves(output / "log.jsonl", output / "curves.png");
      meta["epoch"] = epoch + 1;
      meta["metrics"] = evaluation.metrics;
      const double score = evaluation.metrics[metric_key(job.train.best_metric)].get<double>();
      const bool best = score > progress.best;
      if (best) progress.best = score;
      // The epoch is complete: a resume starts the next one.
      progress.epoch = epoch + 1;
      progress.step = 0;
      save(output / "last.pt");
      if (best) save(output / "best.pt");
      last_metrics = std::move(evaluation.metrics);
      last_features = std::move(evaluation.features);
    }
  }
  last_metrics["train_seconds"] = seconds_since(run_start);
  return finish(std::move(last_metrics), last_features);
}

}  // namespace fgreid::engine
