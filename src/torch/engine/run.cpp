#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/files.hpp>
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

#include <ctime>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <cmath>
#include <fstream>

namespace fgreid::engine {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long>(std::max(0.0, seconds));
  return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

/// Warm-up then multi-step: the learning-rate factor of 0-based `epoch`.
double lr_factor(const TrainOptions& train, int epoch) {
  double factor = 1.0;
  if (epoch < train.warmup_epochs) {
    const double progress = static_cast<double>(epoch) / train.warmup_epochs;
    factor = train.warmup_factor * (1.0 - progress) + progress;
  }
  for (int milestone : train.milestones)
    if (epoch >= milestone) factor *= train.gamma;
  return factor;
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
  auto result = eval::run_suite(set, job.eval.metric, job.eval.max_rank, suite,
                                static_cast<std::uint64_t>(job.run.seed));
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

int execute(const Job& job, Parts parts) {
  job.suite.check();
  if (job.eval.visualize_attention > 0 && dynamic_cast<models::FGReIDNetImpl*>(parts.model.get()) == nullptr)
    throw UsageError(fmt::format("--visualize-attention: {} has no spatial attention map",
                                 job.model_name));
  auto& model = *parts.model;
  load_initial_weights(model, job.weights);
  if (job.weights.print_model) {
    fmt::print("{}", models::format_summary(
                         models::describe_model(model, job.data.height, job.data.width)));
    return 0;
  }
  const torch::Device device = select_device(job.run.device);
  const auto output = output_folder(job);
  std::filesystem::create_directories(output);
  model.to(device);
  const auto num_classes = job.splits.num_train_ids();
  nlohmann::json meta{{"recipe", job.recipe},
                      {"model", job.model_name},
                      {"num_classes", num_classes},
                      {"flags", job.flags}};
  write_file_atomically(output / "config.json", meta.dump(2) + "\n");
  fmt::print(stderr, "[fgreid] {}: device {}, {} threads, output {}\n", job.recipe, device.str(),
             at::get_num_threads(), output.string());

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

  std::vector<std::pair<std::string, torch::Tensor>> loss_state;
  if (auto centers = parts.loss_centers(); centers.defined())
    loss_state.emplace_back("loss.centers", centers);

  if (job.run.evaluate) {
    if (job.run.weights.empty()) throw UsageError("--evaluate needs --weights CHECKPOINT");
    load_checkpoint(job.run.weights, model, job.model_name, loss_state);
    auto evaluation = evaluate(model, job, device, output);
    draw_model_pictures(model, job, parts, device, output, "evaluate");
    return finish(std::move(evaluation.metrics), evaluation.features);
  }

  std::vector<torch::Tensor> trainable;
  for (auto& p : model.parameters())
    if (p.requires_grad()) trainable.push_back(p);
  parts.loss_state_to(device);
  torch::optim::Adam optimizer(
      trainable, torch::optim::AdamOptions(job.train.lr).weight_decay(job.train.weight_decay));

  JsonLog log(output / "log.jsonl");
  const auto batches = std::max<std::int64_t>(1, parts.batches_per_epoch);
  const auto total_iterations = batches * job.train.max_epoch;
  std::int64_t iteration = 0;
  double best_rank1 = -1;
  nlohmann::json last_metrics;
  eval::FeatureSet last_features;
  const auto run_start = Clock::now();

  for (int epoch = 0; epoch < job.train.max_epoch; ++epoch) {
    const double lr = job.train.lr * lr_factor(job.train, epoch);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    model.train();
    const auto seed = static_cast<std::uint64_t>(job.run.seed) * 1000003u + static_cast<std::uint64_t>(epoch);
    data::BatchLoader loader(job.splits.train, parts.epoch_batches(seed),
                             data::Pipeline(job.data.height, job.data.width, job.data.augment,
                                            /*train=*/true),
                             data::LoaderOptions{job.data.workers, job.data.prefetch,
                                                 device.is_cuda(), seed, parts.train_frames});
    auto window_start = Clock::now();
    std::int64_t window_images = 0, step = 0;
    double window_wait = loader.wait_seconds();
    while (auto batch = loader.next()) {
      auto images = batch->images.to(device, /*non_blocking=*/true);
      auto labels = batch->pids.to(device, /*non_blocking=*/true);
      auto result = parts.loss(model.forward_train(images), labels);
      optimizer.zero_grad();
      result.total.backward();
      optimizer.step();
      parts.loss_step();
      ++iteration;
      ++step;
      window_images += images.size(0);
      if (step % job.train.print_every == 0 || step == batches) {
        const double elapsed = seconds_since(window_start);
        const double per_iteration = seconds_since(run_start) / static_cast<double>(iteration);
        nlohmann::json record{{"epoch", epoch + 1},
                              {"iteration", step},
                              {"iterations", batches},
                              {"loss", result.total.item<double>()},
                              {"lr", lr},
                              {"images_per_s", window_images / std::max(elapsed, 1e-9)},
                              {"data_wait", (loader.wait_seconds() - window_wait) / std::max(elapsed, 1e-9)}};
        std::string terms;
        for (const auto& [name, value] : result.terms) {
          record[name] = value.item<double>();
          terms += fmt::format(" {} {:.4f}", name, record[name].get<double>());
        }
        fmt::print(stderr,
                   "[fgreid] epoch {}/{} iter {}/{} loss {:.4f}{} lr {:.2e} {:.1f} img/s "
                   "data-wait {:.0f}% ETA {}\n",
                   epoch + 1, job.train.max_epoch, step, batches, record["loss"].get<double>(),
                   terms, lr, record["images_per_s"].get<double>(),
                   100 * record["data_wait"].get<double>(),
                   format_duration(per_iteration * static_cast<double>(total_iterations - iteration)));
        log.write(record);
        window_start = Clock::now();
        window_images = 0;
        window_wait = loader.wait_seconds();
      }
    }
    if (evaluates_at(job.train, epoch)) {
      auto evaluation = evaluate(model, job, device, output);
      draw_model_pictures(model, job, parts, device, output, fmt::format("epoch_{:03d}", epoch + 1));
      evaluation.metrics["epoch"] = epoch + 1;
      fmt::print(stderr, "[fgreid] evaluation after epoch {}: rank-1 {:.4f} mAP {:.4f} ({:.1f} s)\n",
                 epoch + 1, evaluation.metrics["rank1"].get<double>(),
                 evaluation.metrics["mAP"].get<double>(),
                 evaluation.metrics["eval_seconds"].get<double>());
      log.write({{"evaluation", evaluation.metrics}});
      meta["epoch"] = epoch + 1;
      meta["metrics"] = evaluation.metrics;
      save_checkpoint(output / "last.pt", model, meta, loss_state);
      if (evaluation.metrics["rank1"].get<double>() > best_rank1) {
        best_rank1 = evaluation.metrics["rank1"].get<double>();
        save_checkpoint(output / "best.pt", model, meta, loss_state);
      }
      last_metrics = std::move(evaluation.metrics);
      last_features = std::move(evaluation.features);
    }
  }
  last_metrics["train_seconds"] = seconds_since(run_start);
  return finish(std::move(last_metrics), last_features);
}

}  // namespace fgreid::engine
