// The concept ladder at compile time, for the families whose concepts need no LibTorch to
// check: every real policy satisfies its concept, and types that miss one requirement (near
// misses) or are something else (negatives) do not. This file is compiled without LibTorch's
// include path, so it also proves that every concept header stays free of <torch/torch.h>.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/datasets/cuhk03.hpp>
#include <fgreid/datasets/dukemtmc_video.hpp>
#include <fgreid/datasets/dukemtmcreid.hpp>
#include <fgreid/datasets/grid.hpp>
#include <fgreid/datasets/ilidsvid.hpp>
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/mars.hpp>
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/datasets/prid2011.hpp>
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/datasets/veri776.hpp>
#include <fgreid/datasets/vric.hpp>
#include <fgreid/defaults/concept.hpp>
#include <fgreid/losses/concept.hpp>
#include <fgreid/models/concept.hpp>
#include <fgreid/options.hpp>
#include <fgreid/policy.hpp>
#include <fgreid/samplers/concept.hpp>
#include <fgreid/samplers/pk.hpp>
#include <fgreid/samplers/seed_chunks.hpp>
#include <fgreid/samplers/video_pk.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <span>
#include <vector>

namespace {

namespace fd = fgreid::datasets;
namespace fs = fgreid::samplers;
using fgreid::Modality;

// --- Options and Policy ---------------------------------------------------------------------

struct Knobs {
  /// A knob.
  int knob = 1;
  FGREID_REFLECT(Knobs, knob);
};
struct NamedKnobs {
  static constexpr std::string_view flag_group = "knobs";
  /// A knob.
  int knob = 1;
  FGREID_REFLECT(NamedKnobs, knob);
};
struct Unreflected {
  int knob = 1;
};
struct NoDefault {
  explicit NoDefault(int) {}
  FGREID_REFLECT_NOTHING();
};

static_assert(fgreid::ReflectedOptions<Knobs>);
static_assert(!fgreid::ReflectedOptions<Unreflected>, "near miss: fields, but not reflected");
static_assert(!fgreid::ReflectedOptions<NoDefault>, "near miss: reflected, not default-constructible");
static_assert(!fgreid::ReflectedOptions<int>);
static_assert(fgreid::NamedOptionGroup<NamedKnobs>);
static_assert(!fgreid::NamedOptionGroup<Knobs>, "near miss: reflected, but names no group");

struct GoodPolicy {
  static constexpr std::string_view name = "good";
  using Options = Knobs;
};
struct NamelessPolicy {
  using Options = Knobs;
};
struct UnreflectedPolicy {
  static constexpr std::string_view name = "unreflected";
  using Options = Unreflected;
};
static_assert(fgreid::Policy<GoodPolicy>);
static_assert(!fgreid::Policy<NamelessPolicy>, "near miss: no name for --help");
static_assert(!fgreid::Policy<UnreflectedPolicy>, "near miss: Options the CLI cannot reflect");

// --- samplers --------------------------------------------------------------------------------

static_assert(fgreid::BatchSampler<fs::PK<16, 4>> && fgreid::ImageSampler<fs::PK<16, 4>>);
static_assert(fgreid::BatchSampler<fs::SeedIdentityChunks<32, 4>> &&
              fgreid::ImageSampler<fs::SeedIdentityChunks<32, 4>>);
static_assert(fgreid::VideoSampler<fs::VideoPK<8, 4, 4>> && !fgreid::ImageSampler<fs::VideoPK<8, 4, 4>>);
static_assert(!fgreid::VideoSampler<fs::PK<16, 4>>, "an image sampler draws no clips");

/// A sampler of its own, with the shared batch group: a BatchSampler without a line of glue.
struct CustomSampler {
  static constexpr std::string_view name = "custom";
  struct Options {
    /// Batch.
    fs::BatchOptions batch;
    FGREID_REFLECT(Options, batch);
  };
  CustomSampler(std::span<const std::int64_t>, Options) {}
  void reset(std::uint64_t) {}
  std::optional<std::vector<std::int64_t>> next() { return std::nullopt; }
  [[nodiscard]] std::int64_t batches_per_epoch() const { return 0; }
};
/// Near miss: next() yields the wrong type.
struct WrongBatchType : CustomSampler {
  using CustomSampler::CustomSampler;
  std::vector<int> next() { return {}; }
};
/// Near miss: batches, but its Options do not hold the shared batch group.
struct LooseBatchSampler : CustomSampler {
  struct Options {
    /// P.
    int batch_p = 16;
    FGREID_REFLECT(Options, batch_p);
  };
  LooseBatchSampler(std::span<const std::int64_t> labels, Options) : CustomSampler(labels, {}) {}
};
/// Near miss: the clip group, but no clip chooser.
struct ClipsWithoutChooser : CustomSampler {
  struct Options {
    /// Batch.
    fs::BatchOptions batch;
    /// Clips.
    fs::ClipOptions clips;
    FGREID_REFLECT(Options, batch, clips);
  };
  ClipsWithoutChooser(std::span<const std::int64_t> labels, Options) : CustomSampler(labels, {}) {}
  [[nodiscard]] fs::ClipPlan test_clip_plan() const { return {}; }
};
static_assert(fgreid::BatchSampler<CustomSampler>);
static_assert(!fgreid::Sampler<WrongBatchType>);
static_assert(fgreid::Sampler<LooseBatchSampler> && !fgreid::BatchSampler<LooseBatchSampler>);
static_assert(fgreid::BatchSampler<ClipsWithoutChooser> && !fgreid::VideoSampler<ClipsWithoutChooser>);
static_assert(!fgreid::Sampler<GoodPolicy>, "a policy, but no sampler");

// --- datasets --------------------------------------------------------------------------------

template <class... D>
constexpr bool all_image = (fgreid::ImageDataset<D> && ...) && !(fgreid::VideoDataset<D> || ...);
template <class... D>
constexpr bool all_video = (fgreid::VideoDataset<D> && ...) && !(fgreid::ImageDataset<D> || ...);
static_assert(all_image<fd::Market1501, fd::DukeMTMCreID, fd::MSMT17, fd::VeRi776, fd::VRIC,
                        fd::CUHK01, fd::CUHK03, fd::GRID, fd::VehicleID>);
static_assert(all_video<fd::MARS, fd::ILIDSVID, fd::PRID2011, fd::DukeMTMCVideoReID>);

/// Near miss: loads and synthesizes, but does not say what an entry holds.
struct NoModality {
  static constexpr std::string_view name = "no modality";
  using Options = Knobs;
  static fd::Splits load(const std::filesystem::path&, const Options&) { return {}; }
  static void synthesize(const std::filesystem::path&, const Options&) {}
};
/// Near miss: no synthetic stand-in to run on without --data-root.
struct NoSynthetic {
  static constexpr std::string_view name = "no synthetic";
  static constexpr Modality modality = Modality::image;
  using Options = Knobs;
  static fd::Splits load(const std::filesystem::path&, const Options&) { return {}; }
};
static_assert(!fgreid::Dataset<NoModality>);
static_assert(!fgreid::Dataset<NoSynthetic>);

// --- models and losses: what can be checked without LibTorch -----------------------------------
// (their positive cases, which need the network and tensor types, are in test/torch/test_concepts.cpp)

struct NotAModel {
  static constexpr std::string_view name = "not a model";
  static constexpr Modality modality = Modality::image;
  using Options = Knobs;
  static int build(const Options&, const fgreid::models::ModelContext&) { return 0; }
};
struct NotALoss {
  static constexpr std::string_view name = "not a loss";
  using Options = Knobs;
  NotALoss(Options, fgreid::losses::LossContext) {}
  int operator()(int, int) const { return 0; }
};
static_assert(!fgreid::Model<NotAModel>, "near miss: builds something that is not a network");
static_assert(!fgreid::Model<GoodPolicy> && !fgreid::Loss<GoodPolicy>);
static_assert(!fgreid::Loss<NotALoss>, "near miss: constructible, but maps nothing to a LossResult");

// --- recipe defaults ---------------------------------------------------------------------------

struct Config {
  int value = 0;
};
struct Both {
  static void defaults(Config& c) { c.value = 1; }
  static void synthetic_profile(Config& c) { c.value = 2; }
};
struct OnlyDefaults {
  static void defaults(Config& c) { c.value = 3; }
};
struct OnlyProfile {
  template <class C>
  static void synthetic_profile(C& c) { c.value = 4; }
};
struct WrongArgument {
  static void defaults(int&) {}
};
static_assert(fgreid::RecipeDefaults<Both, Config> && fgreid::RecipeDefaults<OnlyDefaults, Config> &&
              fgreid::RecipeDefaults<OnlyProfile, Config>);
static_assert(!fgreid::RecipeDefaults<WrongArgument, Config>, "near miss: defaults of another type");
static_assert(!fgreid::RecipeDefaults<GoodPolicy, Config>);

}  // namespace

TEST_CASE("a defaults policy applies only what it has") {
  Config config;
  fgreid::defaults::apply_defaults<OnlyProfile>(config);
  CHECK(config.value == 0);
  fgreid::defaults::apply_synthetic_profile<OnlyProfile>(config);
  CHECK(config.value == 4);
  fgreid::defaults::apply_defaults<Both>(config);
  CHECK(config.value == 1);
  fgreid::defaults::apply_synthetic_profile<OnlyDefaults>(config);
  CHECK(config.value == 1);
}
