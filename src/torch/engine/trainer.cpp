#include <fgreid/dist/differentiable.hpp>
#include <fgreid/engine/curves.hpp>
#include <fgreid/engine/interrupt.hpp>
#include <fgreid/engine/trainer.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <csignal>

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

const char* metric_key(SelectionMetric metric) {
  return metric == SelectionMetric::mAP ? "mAP" : "rank1";
}

/// A batch of the sampler (P × K), drawn to learn its size and how it splits.
std::vector<std::int64_t> sample_batch(TrainingSampler& sampler) {
  sampler.reset(0);
  return sampler.next().value_or(std::vector<std::int64_t>{});
}

/// Every rank's outputs in one batch, gradients flowing back to each rank's own rows.
models::TrainOutput gathered(const models::TrainOutput& output) {
  auto gather = [](const torch::Tensor& t) { return t.defined() ? dist::all_gather_with_grad(t) : t; };
  models::TrainOutput all;
  for (const auto& logits : output.logits) all.logits.push_back(gather(logits));
  all.embedding = gather(output.embedding);
  all.features = gather(output.features);
  all.attention = gather(output.attention);
  return all;
}

std::int64_t batches_per_epoch(const TrainingSampler& sampler, const TrainOptions& train) {
  auto batches = std::max<std::int64_t>(1, sampler.batches_per_epoch());
  if (train.epoch_iterations > 0) batches = std::min(batches, train.epoch_iterations);
  return batches;
}

}  // namespace

Trainer::Trainer(const Job& job, Parts& parts, const eval::Evaluator& evaluator, torch::Device device)
    : job_(job),
      world_(dist::world()),
      parts_(parts),
      evaluator_(evaluator),
      device_(device),
      optimizer_(*parts.model, job.settings.train),
      scaler_(job.settings.run.amp == AmpMode::fp16, device),
      state_(*parts.model, job.model_name, optimizer_, scaler_, *parts.loss, run_meta(job)),
      batches_(batches_per_epoch(*parts.sampler, job.settings.train)),
      checkpoint_every_(parse_checkpoint_every(job.settings.train.checkpoint_every)) {
  if (const auto& resume = job.settings.run.resume; !resume.empty()) {
    // Everything is read and checked before anything is written: a wrong file leaves the run
    // folder as it was.
    const auto file = resume_file(resume);
    state_.resume(file, job.recipe);
    fmt::print(stderr, "[fgreid] resuming {} at epoch {} iteration {}\n", file.string(),
               state_.progress.epoch + 1, state_.progress.step);
  }
  if (world_.distributed()) start_together();
  step_ = std::make_unique<TrainStep>(
      StepParts{*parts.model, *parts.loss, optimizer_, scaler_}, device, step_settings(),
      [this](const models::TrainOutput& output, const torch::Tensor& labels) { return loss_of(output, labels); },
      [this] {
        if (averager_) averager_->finish();
      });
  if (world_.distributed())
    averager_ = std::make_unique<dist::GradientAverager>(
        world_, step_->parameters(), static_cast<std::int64_t>(job.settings.dist.bucket_mb * (1 << 20)));
  if (world_.is_main()) output_ = open_run_folder(job, state_.meta, device);
  if (world_.is_main())
    if (const int removed = remove_stale_temporaries(output_); removed > 0)
      fmt::print(stderr, "[fgreid] {}: removed {} unfinished temporary file(s) of a killed run\n",
                 output_.string(), removed);
}

void Trainer::start_together() {
  // Every rank refuses, before anything is written, a batch that would split an identity.
  const auto batch = sample_batch(*parts_.sampler);
  global_batch_ = static_cast<std::int64_t>(batch.size());
  if (global_batch_ % world_.size() != 0)
    throw UsageError(fmt::format("a batch of {} items cannot be shared by {} ranks: make --batch-p a "
                                 "multiple of the world size",
                                 global_batch_, world_.size()));
  (void)rank_share(batch);
  std::vector<torch::Tensor> state = parts_.model->parameters();
  for (auto& buffer : parts_.model->buffers()) state.push_back(buffer);
  for (auto& own : parts_.loss->own_parameters()) state.push_back(own);
  torch::NoGradGuard no_grad;
  world_.broadcast(state);
}

std::vector<std::int64_t> Trainer::rank_share(std::vector<std::int64_t> batch) const {
  if (!world_.distributed()) return batch;
  const auto size = static_cast<std::int64_t>(batch.size());
  if (size != global_batch_)
    throw DataError(fmt::format("the sampler drew a batch of {} items after batches of {}: ranks "
                                "share batches of one size", size, global_batch_));
  const auto share = size / world_.size();
  const auto pid = [&](std::int64_t i) { return job_.splits.train[static_cast<std::size_t>(batch[static_cast<std::size_t>(i)])].pid; };
  for (std::int64_t boundary = share; boundary < size; boundary += share)
    if (pid(boundary - 1) == pid(boundary))
      throw UsageError(fmt::format("a batch of {} items cannot be shared by {} ranks without splitting "
                                   "identity {}: make --batch-p a multiple of the world size",
                                   size, world_.size(), pid(boundary)));
  const auto begin = batch.begin() + world_.rank() * share;
  return {begin, begin + share};
}

int Trainer::stop_requested() {
  const int signal = InterruptGuard::requested();
  if (!world_.distributed()) return signal;
  const auto iteration = state_.progress.iteration;
  if (stop_after_ < 0) stop_after_ = signal != 0 ? world_.propose_stop(iteration) : world_.agreed_stop();
  if (stop_after_ < 0 || iteration < stop_after_) return 0;
  return signal != 0 ? signal : SIGTERM;
}

Trainer::~Trainer() = default;

std::variant<eval::Evaluation, int> Trainer::run() {
  if (world_.is_main()) {
    // A checkpoint at an epoch's last step was written before that epoch's evaluation (which
    // resets the step to 0), so the resumed run evaluates again.
    if (!job_.settings.run.resume.empty())
      JsonLog::trim_after(output_ / "log.jsonl", state_.progress.iteration,
                          /*evaluation_pending=*/state_.progress.step > 0);
    log_ = std::make_unique<JsonLog>(output_ / "log.jsonl");
  }
  display_ = std::make_unique<Progress>(stderr_is_terminal(), job_.settings.train.print_every);
  InterruptGuard interrupts;
  run_start_ = last_checkpoint_ = Clock::now();
  first_iteration_ = last_checkpoint_iteration_ = state_.progress.iteration;
  interrupt_after_ = interrupt_after_iteration();
  eval::Evaluation last;
  bool evaluated = false;
  for (int epoch = state_.progress.epoch; epoch < job_.settings.train.max_epoch; ++epoch) {
    if (const auto stopped = train_epoch(epoch)) return *stopped;
    if (evaluates_at(job_.settings.train, epoch)) {
      last = evaluate_after(epoch);
      evaluated = true;
    }
    keep(epoch);
  }
  if (!evaluated) {  // resumed from a run that had finished: its final test again
    fmt::print(stderr, "[fgreid] nothing left to train: evaluating the run's last weights\n");
    last = evaluate_after(job_.settings.train.max_epoch - 1);
  }
  last.metrics["train_seconds"] = seconds_since(run_start_);
  return last;
}

std::optional<int> Trainer::train_epoch(int epoch) {
  const auto& settings = job_.settings;
  const double lr = settings.train.lr * lr_factor(settings.train, epoch);
  optimizer_.set_learning_rate(lr);
  parts_.model->train();
  const auto seed = static_cast<std::uint64_t>(settings.run.seed) * 1000003u + static_cast<std::uint64_t>(epoch);
  const std::int64_t skip = epoch == state_.progress.epoch ? state_.progress.step : 0;
  parts_.sampler->reset(seed);
  auto source = [this, sampler = parts_.sampler.get(), left = batches_]() mutable {
    auto batch = left-- > 0 ? sampler->next() : std::nullopt;
    return batch ? std::optional(rank_share(std::move(*batch))) : std::nullopt;
  };
  for (std::int64_t i = 0; i < skip; ++i) source();
  data::BatchLoader loader(job_.splits.train, std::move(source), settings.data.pipeline(/*train=*/true),
                           data::LoaderOptions{settings.data.workers, settings.data.prefetch,
                                               device_.is_cuda(), seed, parts_.sampler->train_frames(),
                                               static_cast<std::uint64_t>(skip),
                                               static_cast<std::uint64_t>(world_.rank() * global_batch_ / world_.size())});
  state_.progress.epoch = epoch;
  state_.progress.step = skip;
  window_start_ = Clock::now();
  window_images_ = 0;
  window_wait_ = loader.wait_seconds();
  losses::LossResult result;
  auto next_batch = [&] {
    try {
      return loader.next();
    } catch (const std::exception& error) {
      fail_keeping_progress(error, result);
    }
  };
  while (auto batch = next_batch()) {
    result = (*step_)(batch->images.to(device_, /*non_blocking=*/true),
                      batch->pids.to(device_, /*non_blocking=*/true));
    ++state_.progress.iteration;
    ++state_.progress.step;
    window_images_ += batch->images.size(0) * world_.size();
    watch_loss(result);
    if (display_->due(state_.progress.step, batches_)) {
      check_loss_finite(result);
      if (world_.is_main()) report(result, epoch, lr, loader.wait_seconds());
    }
    if (interrupt_after_ > 0 && state_.progress.iteration == interrupt_after_) std::raise(SIGINT);
    if (const int signal = stop_requested(); signal != 0) return stop(signal);
    if (checkpoint_due()) save_last(result);
  }
  check_loss_finite(result);  // before the epoch's evaluation and checkpoints
  return std::nullopt;
}

void Trainer::watch_loss(const losses::LossResult& result) {
  if (job_.settings.run.amp == AmpMode::fp16) return;
  if (!first_nonfinite_.defined()) first_nonfinite_ = torch::full({}, -1L, torch::TensorOptions(device_).dtype(torch::kLong));
  const auto first_now = torch::logical_not(torch::isfinite(result.total.detach())).logical_and(first_nonfinite_ < 0);
  first_nonfinite_ = torch::where(first_now, torch::full({}, state_.progress.iteration, first_nonfinite_.options()),
                                  first_nonfinite_);
}

void Trainer::check_loss_finite(const losses::LossResult& result) const {
  if (!first_nonfinite_.defined()) return;
  const auto iteration = first_nonfinite_.item<std::int64_t>();
  if (iteration < 0) return;
  std::string terms;
  for (const auto& [name, value] : result.terms) terms += fmt::format(" {}={}", name, value.item<double>());
  throw DataError(fmt::format(
      "{}: the loss was not finite at iteration {}{}; training stops before the diverged "
      "weights are written (any checkpoint there is from before). Lower --lr, or check the "
      "data and --pretrained weights",
      output_.string(), iteration, terms.empty() ? "" : fmt::format(" (now:{})", terms)));
}

StepSettings Trainer::step_settings() const {
  const auto& run = job_.settings.run;
  StepSettings settings{run.amp, run.channels_last, run.cuda_graphs && device_.is_cuda()};
  if (settings.cuda_graphs && world_.distributed()) {
    // c10d's all-reduce runs from hooks during backward, outside what a graph can replay.
    if (world_.is_main())
      fmt::print(stderr, "[fgreid] --cuda-graphs: under torchrun the gradients are averaged during "
                 "backward; the step runs eagerly\n");
    settings.cuda_graphs = false;
  }
  return settings;
}

losses::LossResult Trainer::loss_of(const models::TrainOutput& output, const torch::Tensor& labels) {
  if (world_.distributed() && job_.settings.dist.loss_batch == LossBatch::global)
    return (*parts_.loss)(gathered(output), world_.all_gather(labels));
  return (*parts_.loss)(output, labels);
}

void Trainer::report(const losses::LossResult& result, int epoch, double lr, double wait_seconds) {
  const auto& progress = state_.progress;
  const double elapsed = std::max(seconds_since(window_start_), 1e-9);
  const double per_iteration =
      seconds_since(run_start_) / static_cast<double>(progress.iteration - first_iteration_);
  const auto total_iterations = batches_ * job_.settings.train.max_epoch;
  ProgressState shown{.epoch = epoch + 1,
                      .epochs = job_.settings.train.max_epoch,
                      .step = progress.step,
                      .steps = batches_,
                      .loss = result.total.item<double>(),
                      .terms = {},
                      .lr = lr,
                      .images_per_s = static_cast<double>(window_images_) / elapsed,
                      .data_wait = (wait_seconds - window_wait_) / elapsed,
                      .eta_seconds = per_iteration * static_cast<double>(total_iterations - progress.iteration)};
  nlohmann::json record{{"epoch", epoch + 1},          {"iteration", progress.step},
                        {"iterations", batches_},      {"global_iteration", progress.iteration},
                        {"loss", shown.loss},          {"lr", lr},
                        {"images_per_s", shown.images_per_s}, {"data_wait", shown.data_wait}};
  for (const auto& [name, value] : result.terms) {
    shown.terms.emplace_back(name, value.item<double>());
    record[name] = shown.terms.back().second;
  }
  if (averager_) {  // what the last step all-reduced, and how much of it overlapped backward
    const auto traffic = averager_->traffic();
    record["allreduce_bytes"] = traffic.bytes;
    record["buckets"] = traffic.buckets;
    record["buckets_during_backward"] = traffic.launched_during_backward;
    record["ranks"] = world_.size();
  }
  display_->show(shown);
  log_->write(record);
  window_start_ = Clock::now();
  window_images_ = 0;
  window_wait_ = wait_seconds;
}

int Trainer::stop(int signal) {
  display_->interrupt_line();
  if (!world_.is_main()) {
    fmt::print(stderr, "[fgreid] rank {} stopped with the others after iteration {}; rank 0 writes last.pt\n",
               world_.rank(), state_.progress.iteration);
    return InterruptGuard::exit_code(signal);
  }
  save_last({});
  fmt::print(stderr,
             "[fgreid] stopped by signal {} after epoch {} iteration {}/{}; {} written. "
             "Resume with: recipe_{} --resume {} (and the same flags)\n",
             signal, state_.progress.epoch + 1, state_.progress.step, batches_,
             (output_ / "last.pt").string(), job_.recipe, output_.string());
  return InterruptGuard::exit_code(signal);
}

bool Trainer::checkpoint_due() const {
  if (!world_.is_main()) return false;
  if (checkpoint_every_.iterations > 0)
    return state_.progress.iteration - last_checkpoint_iteration_ >= checkpoint_every_.iterations;
  return checkpoint_every_.minutes > 0 && seconds_since(last_checkpoint_) >= 60 * checkpoint_every_.minutes;
}

void Trainer::save_last(const losses::LossResult& result) {
  check_loss_finite(result);
  state_.save(output_ / "last.pt");
  last_checkpoint_ = Clock::now();
  last_checkpoint_iteration_ = state_.progress.iteration;
}

void Trainer::fail_keeping_progress(const std::exception& error, const losses::LossResult& result) {
  const auto first_line = [](const std::exception& e) {
    std::string text = e.what();
    if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) text = torch_error->what_without_backtrace();
    return text.substr(0, text.find('\n'));
  };
  const auto message = first_line(error);
  if (!world_.is_main()) throw DataError(message);
  display_->interrupt_line();
  try {
    save_last(result);
  } catch (const std::exception& also) {
    throw DataError(fmt::format("{} (and last.pt was not written: {})", message, first_line(also)));
  }
  throw DataError(fmt::format("{} ({} holds epoch {} iteration {}/{}: once this is fixed, "
                              "--resume {} continues from there)",
                              message, (output_ / "last.pt").string(), state_.progress.epoch + 1,
                              state_.progress.step, batches_, output_.string()));
}

void Trainer::keep(int epoch) const {
  if (!world_.is_main()) return;
  const int every = job_.settings.train.keep_every;
  if (every > 0 && (epoch + 1) % every == 0)
    state_.save_model(output_ / fmt::format("epoch_{}.pt", epoch + 1), epoch + 1);
}

eval::Evaluation Trainer::evaluate_after(int epoch) {
  if (!world_.is_main()) {  // its share of the test features, for rank 0's evaluation
    evaluator_.share_features(*parts_.model, device_);
    state_.progress.epoch = epoch + 1;
    state_.progress.step = 0;
    return {};
  }
  display_->interrupt_line();
  eval::Evaluation evaluation;
  try {
    evaluation = evaluator_(*parts_.model, device_, output_, fmt::format("epoch_{:03d}", epoch + 1));
  } catch (const std::exception& error) {  // last.pt at the epoch's last step: a resume evaluates it
    fail_keeping_progress(error, {});
  }
  auto& metrics = evaluation.metrics;
  metrics["epoch"] = epoch + 1;
  fmt::print(stderr, "[fgreid] evaluation after epoch {}: rank-1 {:.4f} mAP {:.4f} ({:.1f} s)\n",
             epoch + 1, metrics["rank1"].get<double>(), metrics["mAP"].get<double>(),
             metrics["eval_seconds"].get<double>());
  log_->write({{"evaluation", metrics}, {"global_iteration", state_.progress.iteration}});
  if (job_.settings.train.plot) write_training_curves(output_ / "log.jsonl", output_ / "curves.png");
  state_.meta["epoch"] = epoch + 1;
  state_.meta["metrics"] = metrics;
  const double score = metrics[metric_key(job_.settings.train.best_metric)].get<double>();
  const bool best = score > state_.progress.best;
  if (best) state_.progress.best = score;
  // The epoch is complete: a resume starts the next one.
  state_.progress.epoch = epoch + 1;
  state_.progress.step = 0;
  // best.pt first: a kill between the two leaves the old last.pt, whose resume repeats this
  // evaluation and writes best.pt again, never a last.pt that counts a best.pt never written.
  if (best) state_.save(output_ / "best.pt");
  save_last({});
  return evaluation;
}

}  // namespace fgreid::engine
