#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/evaluate.hpp>
#include <fgreid/eval/features_file.hpp>
#include <fgreid/eval/metrics.hpp>

#include <ctime>
#include <fmt/format.h>

#include <chrono>
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

Evaluation evaluate(models::ReidModuleImpl& model, const Job& job, torch::Device device) {
  const auto start = Clock::now();
  const auto& splits = job.splits;
  eval::FeatureSet set;
  set.query_features = extract_features(model, splits.query, job.data, job.eval, device);
  set.gallery_features = extract_features(model, splits.gallery, job.data, job.eval, device);
  set.query_pids = as_tensor(column(splits.query, &datasets::Entry::pid));
  set.gallery_pids = as_tensor(column(splits.gallery, &datasets::Entry::pid));
  set.query_camids = as_tensor(column(splits.query, &datasets::Entry::camid));
  set.gallery_camids = as_tensor(column(splits.gallery, &datasets::Entry::camid));
  set.query_frames = as_tensor(column(splits.query, &datasets::Entry::frame));
  set.gallery_frames = as_tensor(column(splits.gallery, &datasets::Entry::frame));
  auto metrics = eval::evaluate_features(set, job.eval.metric, job.eval.max_rank);
  metrics["eval_seconds"] = seconds_since(start);
  return {std::move(metrics), std::move(set)};
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
                           data::ImageTransform{data.height, data.width, 0.0},
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
  const torch::Device device = select_device(job.run.device);
  const auto output = output_folder(job);
  std::filesystem::create_directories(output);
  auto& model = *parts.model;
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
    if (job.run.weights.empty()) throw UsageError("--evaluate needs --weights CHECKPOINT");
    load_checkpoint(job.run.weights, model, job.model_name);
    auto evaluation = evaluate(model, job, device);
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
                             data::ImageTransform{job.data.height, job.data.width,
                                                  job.data.flip_probability},
                             data::LoaderOptions{job.data.workers, job.data.prefetch,
                                                 device.is_cuda(), seed});
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
      auto evaluation = evaluate(model, job, device);
      evaluation.metrics["epoch"] = epoch + 1;
      fmt::print(stderr, "[fgreid] evaluation after epoch {}: rank-1 {:.4f} mAP {:.4f} ({:.1f} s)\n",
                 epoch + 1, evaluation.metrics["rank1"].get<double>(),
                 evaluation.metrics["mAP"].get<double>(),
                 evaluation.metrics["eval_seconds"].get<double>());
      log.write({{"evaluation", evaluation.metrics}});
      meta["epoch"] = epoch + 1;
      meta["metrics"] = evaluation.metrics;
      save_checkpoint(output / "last.pt", model, meta);
      if (evaluation.metrics["rank1"].get<double>() > best_rank1) {
        best_rank1 = evaluation.metrics["rank1"].get<double>();
        save_checkpoint(output / "best.pt", model, meta);
      }
      last_metrics = std::move(evaluation.metrics);
      last_features = std::move(evaluation.features);
    }
  }
  last_metrics["train_seconds"] = seconds_since(run_start);
  return finish(std::move(last_metrics), last_features);
}

}  // namespace fgreid::engine
