#pragma once
// Experiment<Model, Loss, Sampler, Dataset, Defaults...>: a recipe. It composes four policies
// chosen at compile time, checks that they fit together (a video dataset needs a video model
// and a clip sampler), generates the command line from their Options and the engine's
// Settings, applies the recipe's defaults policies in order, and hands the built policies to
// the engine through its interfaces (engine/parts.hpp).
//
//   using Recipe = Experiment<models::BNNeck<models::ResNet<50>>,
//                             losses::Losses<losses::LabelSmoothCE, losses::Triplet>,
//                             samplers::PK<16, 4>,
//                             datasets::Market1501>;
#include <fgreid/cli/flags.hpp>
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/defaults/concept.hpp>
#include <fgreid/detail/policy_adapters.hpp>
#include <fgreid/engine/extract.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/engine/settings.hpp>
#include <fgreid/losses/concept.hpp>
#include <fgreid/models/concept.hpp>
#include <fgreid/samplers/concept.hpp>

#include <functional>
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
/// Prints --summary's line: the dataset's statistics.
void print_summary(const datasets::Splits& splits, Modality modality);

}  // namespace detail

template <Model M, Loss L, Sampler S, Dataset D, class... Defaults>
struct Experiment {
  static_assert(D::modality != Modality::video || VideoModel<M>,
                "a video dataset needs a video model, one that takes clips [B, T, 3, H, W]: "
                "use models::FGReIDVideo<> instead of an image model");
  static_assert(D::modality != Modality::image || ImageModel<M>,
                "an image dataset needs an image model, one that takes images [B, 3, H, W]: "
                "use models::FGReIDImage<> or models::BNNeck<...> instead of a video model");
  static_assert(D::modality != Modality::video || VideoSampler<S>,
                "a video dataset needs a VideoSampler, which draws clips of its tracklets: "
                "use samplers::VideoPK<P, K, T>");
  static_assert(D::modality != Modality::image || ImageSampler<S>,
                "an image dataset needs an image sampler: use samplers::PK<P, K> or "
                "samplers::SeedIdentityChunks<P, K> instead of a video sampler");

  using ModelPolicy = M;
  using LossPolicy = L;
  using SamplerPolicy = S;
  using DatasetPolicy = D;

  /// Every option of the recipe: the engine's Settings, then each policy's Options.
  struct Config : engine::Settings {
    using ModelPolicy = M;
    using LossPolicy = L;
    using SamplerPolicy = S;
    using DatasetPolicy = D;
    typename M::Options model;
    typename L::Options loss;
    typename S::Options sampler;
    typename D::Options dataset;
  };

  static_assert((RecipeDefaults<Defaults, Config> && ...),
                "a defaults policy needs defaults(Config&) or synthetic_profile(Config&): see "
                "fgreid/defaults/concept.hpp");

  /// The defaults of every run: Experiment's own, then each Defaults policy's, in order.
  static void defaults(Config& config) {
    // The metric that keeps best.pt: the dataset's, where it names one (the seed's -f).
    if constexpr (requires { D::select_by_map; })
      if (D::select_by_map) config.train.best_metric = engine::SelectionMetric::mAP;
    (defaults::apply_defaults<Defaults>(config), ...);
  }

  /// Real-data defaults are the literature's; the synthetic stand-in is small, so without
  /// --data-root these apply to every flag the user did not set (announced on stderr):
  /// Experiment's own profile, then each Defaults policy's.
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
    (defaults::apply_synthetic_profile<Defaults>(config), ...);
  }

  /// Builds the command line over `config`'s fields.
  static void add_flags(cli::CommandLine& cli, Config& config) {
    cli::add_flags(cli, "", static_cast<engine::Settings&>(config));
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
                    .settings = config,
                    .flags = std::move(flags),
                    .data_root = config.run.data_root,
                    .splits = {}};
    if (!config.run.extract_images.empty()) return extract(job, config);
    if (job.data_root.empty())
      job.data_root = detail::synthetic_data_root(
          D::name, [&](const std::filesystem::path& root) { D::synthesize(root, config.dataset); });
    job.splits = D::load(job.data_root, config.dataset);
    if (config.run.summary) {
      detail::print_summary(job.splits, D::modality);
      return 0;
    }
    if (job.splits.train.empty()) throw DataError(job.data_root.string() + ": no training images");
    torch::manual_seed(static_cast<std::uint64_t>(config.run.seed));
    return engine::execute(job, build(config, job.splits));
  }

  /// --extract-images: the user's own images need no dataset. The network is built for the
  /// identity count of the weights, and a video recipe's test clips come from its sampler.
  static int extract(const engine::Job& job, const Config& config) {
    const auto classes = engine::classes_in_weights(config.run.weights);
    auto network = M::build(config.model, models::ModelContext{classes, config.data.height, config.data.width});
    return engine::extract_images(job, *network, test_clip_plan(config.sampler));
  }

  /// The test clips of a video recipe's sampler (none for images). A sampler is built over
  /// labels, so a stand-in of P identities × K tracklets builds it for its options alone.
  static samplers::ClipPlan test_clip_plan(const typename S::Options& options) {
    if constexpr (VideoSampler<S>) {
      std::vector<std::int64_t> labels;
      for (int p = 0; p < options.batch.batch_p; ++p) labels.insert(labels.end(), options.batch.batch_k, p);
      return S(std::span<const std::int64_t>(labels), options).test_clip_plan();
    } else {
      return {};
    }
  }

  /// The policies built for `splits`: the network, the loss, the sampler over the training
  /// identities, and what the pictures can draw of them.
  static engine::Parts build(const Config& config, const datasets::Splits& splits) {
    const auto classes = splits.num_train_ids();
    auto network = M::build(config.model, models::ModelContext{classes, config.data.height, config.data.width});
    engine::Parts parts;
    parts.loss = std::make_unique<detail::LossAdapter<L>>(
        config.loss, losses::LossContext{classes, network->feature_dim()});
    parts.pictures = detail::pictures_of(network, *parts.loss);
    parts.model = std::move(network);
    std::vector<std::int64_t> labels;
    labels.reserve(splits.train.size());
    for (const auto& entry : splits.train) labels.push_back(entry.pid);
    parts.sampler = std::make_unique<detail::SamplerAdapter<S>>(std::span<const std::int64_t>(labels),
                                                                config.sampler);
    return parts;
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
    // --extract-images runs on the user's images: the real-data defaults (input size) apply.
    const bool synthetic = probe.run.data_root.empty() && probe.run.extract_images.empty();
    if (synthetic) R::synthetic_profile(config);
    cli::CommandLine cli(program, "");
    parse(config, cli);
    engine::check_settings(config);
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
