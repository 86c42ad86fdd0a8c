// The concept ladder's cases that need LibTorch's types, and the contract every loss policy
// keeps (one TEST_CASE_TEMPLATE over them all). The torch-free half is test/core/test_concepts.cpp;
// the recipes that must not compile are test/compile_fail/.
#include <fgreid/detail/policy_adapters.hpp>
#include <fgreid/losses/center.hpp>
#include <fgreid/losses/cosine_triplet.hpp>
#include <fgreid/losses/cross_entropy.hpp>
#include <fgreid/losses/fgreid_objective.hpp>
#include <fgreid/losses/losses.hpp>
#include <fgreid/losses/seed_terms.hpp>
#include <fgreid/losses/triplet.hpp>
#include <fgreid/models/bnneck.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/models/resnet.hpp>

#include <doctest/doctest.h>

#include "recipes/baseline.hpp"
#include "recipes/cuhk01_image.hpp"
#include "recipes/mars_video.hpp"

namespace {

namespace fl = fgreid::losses;
namespace fm = fgreid::models;

// --- models --------------------------------------------------------------------------------

static_assert(fgreid::Backbone<fm::ResNet<50>> && fgreid::Backbone<fm::ResNet<18, 1>>);
static_assert(fgreid::ImageModel<fm::FGReIDImage<>> && !fgreid::VideoModel<fm::FGReIDImage<>>);
static_assert(fgreid::VideoModel<fm::FGReIDVideo<>> && !fgreid::ImageModel<fm::FGReIDVideo<>>);
static_assert(fgreid::ImageModel<fm::BNNeck<fm::ResNet<50>>>);
static_assert(std::same_as<fm::NetworkOf<fm::FGReIDImage<>>, fm::FGReIDNetImpl>);

// The capabilities the engine uses when a network has them.
static_assert(fm::ScoredAttentionNetwork<fm::FGReIDNetImpl> && fm::ClassifierNetwork<fm::FGReIDNetImpl>);
static_assert(!fm::AttentionNetwork<fm::BNNeckNetImpl> && fm::ClassifierNetwork<fm::BNNeckNetImpl>);

/// A network with an attention map but no pre-sigmoid scores: drawn as it is.
struct PlainAttention {
  torch::Tensor attention_map(const torch::Tensor& x) { return x; }
  [[nodiscard]] fgreid::Modality modality() const { return fgreid::Modality::image; }
};
/// Near miss: an attention map of the wrong type.
struct WrongAttention {
  std::vector<float> attention_map(const torch::Tensor&) { return {}; }
  [[nodiscard]] fgreid::Modality modality() const { return fgreid::Modality::image; }
};
/// Near miss: a map, but it does not say what it takes.
struct AttentionWithoutModality {
  torch::Tensor attention_map(const torch::Tensor& x) { return x; }
};
static_assert(fm::AttentionNetwork<PlainAttention> && !fm::ScoredAttentionNetwork<PlainAttention>);
static_assert(!fm::AttentionNetwork<WrongAttention>);
static_assert(!fm::AttentionNetwork<AttentionWithoutModality>);

/// Near miss: a whole model policy, but no modality: the recipe could not check its dataset.
struct ModelWithoutModality {
  static constexpr std::string_view name = "no modality";
  using Options = fm::BNNeckOptions;
  static std::shared_ptr<fm::BNNeckNetImpl> build(const Options& o, const fm::ModelContext& c) {
    return fm::BNNeck<fm::ResNet<18>>::build(o, c);
  }
};
/// Near miss: a network that is not a ReidModuleImpl.
struct ModelOfPlainModule {
  static constexpr std::string_view name = "plain module";
  static constexpr fgreid::Modality modality = fgreid::Modality::image;
  using Options = fm::BNNeckOptions;
  static std::shared_ptr<torch::nn::Module> build(const Options&, const fm::ModelContext&) { return {}; }
};
static_assert(!fgreid::Model<ModelWithoutModality>);
static_assert(!fgreid::Model<ModelOfPlainModule>);

// --- losses and recipes ----------------------------------------------------------------------

static_assert(fl::ClassCenterLoss<fl::CenterLoss> && !fl::OwnOptimizerLoss<fl::Triplet>);
static_assert(!fl::ClassCenterLoss<fl::FGReIDObjective>, "a composite is not itself a center loss");
static_assert(fgreid::ReidExperiment<fgreid::recipes::baseline::Recipe>);
static_assert(fgreid::ReidExperiment<fgreid::recipes::cuhk01_image::Recipe>);
static_assert(fgreid::ReidExperiment<fgreid::recipes::mars_video::Recipe>);

double scalar(const torch::Tensor& t) { return t.item<double>(); }

constexpr std::int64_t kClasses = 4, kDim = 8, kP = 4, kK = 2;

/// What a two-branch network gives the losses, for P × K samples, with gradients.
struct Batch {
  std::vector<torch::Tensor> leaves;
  fm::TrainOutput output;
  torch::Tensor labels = torch::arange(kP).repeat_interleave(kK);
  Batch() {
    torch::manual_seed(3);
    const auto n = kP * kK;
    leaves = {torch::randn({n, kClasses}).requires_grad_(), torch::randn({n, kClasses}).requires_grad_(),
              torch::randn({n, kDim}).requires_grad_()};
    output.logits = {leaves[0], leaves[1]};
    output.embedding = leaves[2];
    output.features = leaves[2];
  }
};

}  // namespace

TEST_CASE_TEMPLATE("every loss policy gives a finite weighted total, gradients and named terms", L,
                   fl::LabelSmoothCE, fl::Triplet, fl::CosineTriplet, fl::CenterLoss,
                   fl::IdentityVariance, fl::SatisfiedRank, fl::Losses<fl::LabelSmoothCE, fl::Triplet>,
                   fl::FGReIDObjective) {
  static_assert(fgreid::Loss<L>);
  Batch batch;
  fgreid::detail::LossAdapter<L> loss(typename L::Options{}, fl::LossContext{kClasses, kDim});
  const auto result = loss(batch.output, batch.labels);
  REQUIRE(result.total.defined());
  CHECK(result.total.dim() == 0);
  CHECK(std::isfinite(scalar(result.total)));
  REQUIRE_FALSE(result.terms.empty());
  for (const auto& [name, value] : result.terms) {
    CAPTURE(name);
    CHECK_FALSE(name.empty());
    CHECK(std::isfinite(scalar(value)));
  }
  result.total.backward();
  bool reached = false;
  for (const auto& leaf : batch.leaves)
    if (leaf.grad().defined()) {
      CHECK(torch::isfinite(leaf.grad()).all().template item<bool>());
      reached = reached || scalar(leaf.grad().abs().sum()) > 0;
    }
  CHECK(reached);
  // The engine's view of the loss: what it trains itself, and what a checkpoint keeps.
  const bool centers = fl::ClassCenterLoss<L> || std::same_as<L, fl::FGReIDObjective>;
  CHECK(loss.own_parameters().size() == (centers ? 1u : 0u));
  CHECK(loss.state().size() == (centers ? 1u : 0u));
  CHECK(loss.centers().defined() == centers);
  if (centers) CHECK(loss.centers().sizes() == torch::IntArrayRef{kClasses, kDim});
}

TEST_CASE("a sampler's adapter gives clips exactly for video samplers") {
  const std::vector<std::int64_t> labels{0, 0, 0, 1, 1, 1, 2, 2, 2};
  fgreid::detail::SamplerAdapter<fgreid::samplers::PK<2, 2>> images(labels, {});
  fgreid::detail::SamplerAdapter<fgreid::samplers::VideoPK<2, 2, 3>> clips(labels, {});
  CHECK_FALSE(images.train_frames());
  CHECK_FALSE(images.test_clips());
  REQUIRE(clips.train_frames());
  REQUIRE(clips.test_clips());
  fgreid::datasets::Entry tracklet;
  tracklet.images.resize(7);
  CHECK(clips.train_frames()(tracklet, 1).size() == 3);
  CHECK(clips.test_clips()(tracklet).size() == 3);  // 0-2, 3-5, 6 repeated
}
