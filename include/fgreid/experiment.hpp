#pragma once
// Experiment<Model, Loss, Sampler, Dataset>: a recipe. It composes four policies chosen at
// compile time, generates the command line from their Options, and hands the built, type-
// erased parts to the engine, which owns the loop.
//
//   using Recipe = Experiment<models::BNNeck<models::ResNet<50>>,
//                             losses::Losses<losses::LabelSmoothCE, losses::Triplet>,
//                             samplers::PK<16, 4>,
//                             datasets::Market1501>;
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/engine/flags.hpp>
#include <fgreid/engine/options.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/losses/concept.hpp>
#include <fgreid/models/concept.hpp>
#include <fgreid/samplers/concept.hpp>

#include <memory>
#include <string_view>
#include <tuple>

namespace fgreid {

namespace detail {

template <class P>
concept CompositePolicy = requires { typename P::PartList; };

/// Adds the flags of a policy, or of each part of a composite policy, under its own group.
template <class P>
void add_policy_flags(cli::CommandLine& cli, typename P::Options& options) {
  if constexpr (CompositePolicy<P>) {
    [&]<class... Parts>(std::tuple<Parts...>*) {
      std::apply([&](auto&... part_options) { (add_policy_flags<Parts>(cli, part_options), ...); },
                 options.parts);
    }(static_cast<typename P::PartList*>(nullptr));
  } else {
    cli::add_flags(cli, P::name, options);
  }
}

/// Runtime setup shared by every recipe (threads, synthetic data, error reporting).
void set_threads(int threads);
std::filesystem::path synthetic_data_root(std::string_view dataset_name,
                                          const std::function<void(const std::filesystem::path&)>& write);
int report_error(std::string_view program, const std::exception& error, int code);

}  // namespace detail

template <Model M, Loss L, Sampler S, Dataset D>
struct Experiment {
  using ModelPolicy = M;
  using LossPolicy = L;
  using SamplerPolicy = S;
  using DatasetPolicy = D;

  /// Every option of the recipe, grouped as in --help.
  struct Config {
    engine::RunOptions run;
    engine::WeightsOptions weights;
    engine::DataOptions data;
    engine::TrainOptions train;
    engine::EvalOptions eval;
    eval::SuiteOptions suite;
    eval::RerankOptions rerank;
    eval::StReidOptions st;
    typename M::Options model;
    typename L::Options loss;
    typename S::Options sampler;
    typename D::Options dataset;
  };

  /// The recipe's own defaults, over the policies' (e.g. flip-averaged, normalised test
  /// features). A recipe that needs some derives from its Experiment and hides this.
  static void defaults(Config& config) {
    // The metric that keeps best.pt: the dataset's, where it names one (the seed's -f).
    if constexpr (requires { D::select_by_map; })
      if (D::select_by_map) config.train.best_metric = engine::SelectionMetric::mAP;
  }

  /// Real-data defaults are the literature's; the synthetic stand-in is small, so without
  /// --data-root these apply to every flag the user did not set (announced on stderr).
  static void synthetic_profile(Config& config) {
    config.data.height = 128;
    config.data.width = 64;
    config.train.max_epoch = 12;
    config.train.warmup_epochs = 2;
    config.train.milestones = {9};
    config.train.eval_start = 5;
    config.train.eval_every = 4;
    config.train.print_every = 10;
    // Flips only: on a few thousand steps of small images the literature's pipelines (pad,
    // translate or crop, random erasing) cost more than they teach. Measured on
    // recipe_market_image's profile: rank-1 0.205 with the seed's pipeline, 0.655 with this.
    config.data.augment.order.augment = {data::Step::flip};
    config.data.augment.resize.interpolation = data::Interpolation::bilinear;
  }

  /// Builds the command line over `config`'s fields.
  static void add_flags(cli::CommandLine& cli, Config& config) {
    cli::add_flags(cli, "run", config.run);
    cli::add_flags(cli, "weights", config.weights);
    cli::add_flags(cli, "data", config.data);
    data::add_flags(cli, config.data.augment);
    cli::add_flags(cli, "training", config.train);
    cli::add_flags(cli, "evaluation", config.eval);
    cli::add_flags(cli, eval::kSuiteGroup, config.suite);
    cli::add_flags(cli, eval::kRerankGroup, config.rerank);
    cli::add_flags(cli, eval::kStReidGroup, config.st);
    detail::add_policy_flags<M>(cli, config.model);
    detail::add_policy_flags<L>(cli, config.loss);
    detail::add_policy_flags<S>(cli, config.sampler);
    detail::add_policy_flags<D>(cli, config.dataset);
    cli.alias("eval-start", "thresold");
  }

  /// Runs the recipe configured by `config` (flags already parsed).
  static int run(std::string_view recipe, const Config& config, nlohmann::json flags) {
    engine::Job job{.recipe = std::string{recipe},
                    .model_name = std::string{M::name},
                    .run = config.run,
                    .weights = config.weights,
                    .train = config.train,
                    .data = config.data,
                    .eval = config.eval,
                    .suite = config.suite,
                    .rerank = config.rerank,
                    .st = config.st,
                    .flags = std::move(flags),
                    .data_root = config.run.data_root,
                    .splits = {}};
    if (job.data_root.empty())
      job.data_root = detail::synthetic_data_root(
          D::name, [&](const std::filesystem::path& root) { D::synthesize(root, config.dataset); });
    job.splits = D::load(job.data_root, config.dataset);
    if (config.run.summary) {
      const auto summary = D::modality == datasets::Modality::video
                               ? datasets::summarize_video(job.splits)
                               : datasets::summarize(job.splits);
      std::puts(summary.dump().c_str());
      return 0;
    }
    if (job.splits.train.empty()) throw DataError(job.data_root.string() + ": no training images");
    torch::manual_seed(static_cast<std::uint64_t>(config.run.seed));

    const auto classes = job.splits.num_train_ids();
    engine::Parts parts;
    parts.model = M::build(config.model, models::ModelContext{classes, config.data.height,
                                                             config.data.width});
    auto loss = std::make_shared<L>(config.loss,
                                    losses::LossContext{classes, parts.model->feature_dim()});
    parts.loss = [loss](const models::TrainOutput& output, const torch::Tensor& labels) {
      return (*loss)(output, labels);
    };
    parts.loss_state_to = [loss](torch::Device device) {
      losses::for_each_own_optimizer(*loss, [&](auto& part) { part.to(device); });
    };
    parts.loss_step = [loss] {
      losses::for_each_own_optimizer(*loss, [](auto& part) { part.step(); });
    };
    parts.loss_centers = [loss] {
      torch::Tensor centers;
      losses::for_each_own_optimizer(*loss, [&](auto& part) {
        if constexpr (requires { part.centers(); }) centers = part.centers();
      });
      return centers;
    };
    std::vector<std::int64_t> labels;
    for (const auto& entry : job.splits.train) labels.push_back(entry.pid);
    auto sampler = std::make_shared<S>(std::span<const std::int64_t>(labels), config.sampler);
    parts.batches_per_epoch = sampler->batches_per_epoch();
    parts.epoch_batches = [sampler](std::uint64_t seed) -> data::BatchSource {
      sampler->reset(seed);
      return [sampler] { return sampler->next(); };
    };
    if constexpr (D::modality == datasets::Modality::video) {
      static_assert(requires(S& s) { s.clip_chooser(); s.test_clip_plan(); },
                    "a video dataset needs a sampler that draws clips (samplers::VideoPK)");
      parts.train_frames = sampler->clip_chooser();
      job.test_clips = sampler->test_clip_plan();
    }
    return engine::execute(job, std::move(parts));
  }
};

/// @brief A concept matching recipes: an Experiment over four valid policies.
template <class R>
concept ReidExperiment = Model<typename R::ModelPolicy> && Loss<typename R::LossPolicy> &&
                         Sampler<typename R::SamplerPolicy> && Dataset<typename R::DatasetPolicy> &&
                         requires(typename R::Config& config) {
                           typename R::Config;
                           R::defaults(config);
                           R::synthetic_profile(config);
                         };

/// The whole program of a recipe binary: flags (command line and --config), then run.
/// Exit codes: 0 done, 1 bad data or failure, 2 bad flag.
template <ReidExperiment R>
int recipe_main(std::string_view recipe, int argc, char** argv) {
  const std::string program = "recipe_" + std::string{recipe};
  try {
    auto parse = [&](typename R::Config& config, cli::CommandLine& cli) {
      R::add_flags(cli, config);
      return cli.parse(argc, argv);
    };
    // Pass 1 learns whether --data-root was given, which decides the defaults of pass 2.
    typename R::Config probe;
    R::defaults(probe);
    cli::CommandLine probe_cli(program, "");
    if (!parse(probe, probe_cli)) return 0;
    typename R::Config config;
    R::defaults(config);
    const bool synthetic = probe.run.data_root.empty();
    if (synthetic) R::synthetic_profile(config);
    cli::CommandLine cli(program, "");
    parse(config, cli);
    if (synthetic) {
      std::string overridden;
      const nlohmann::json resolved = cli.resolved(), defaults = probe_cli.resolved();
      for (const auto& [name, value] : resolved.items())
        if (!cli.was_set(name) && defaults[name] != value)
          overridden += fmt::format(" --{} {}", name, value.template get<std::string>());
      fmt::print(stderr, "[fgreid] no --data-root: synthetic {} data, sized by the synthetic "
                         "profile:{}\n", R::DatasetPolicy::name, overridden);
    }
    detail::set_threads(config.run.threads);
    return R::run(recipe, config, cli.resolved());
  } catch (const UsageError& e) {
    return detail::report_error(program, e, 2);
  } catch (const std::exception& e) {
    return detail::report_error(program, e, 1);
  }
}

}  // namespace fgreid
