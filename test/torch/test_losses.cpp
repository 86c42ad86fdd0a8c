#include <fgreid/losses/cross_entropy.hpp>
#include <fgreid/losses/losses.hpp>
#include <fgreid/losses/triplet.hpp>

#include <doctest/doctest.h>

#include <cmath>

using fgreid::losses::LabelSmoothCE;
using fgreid::losses::Losses;
using fgreid::losses::Triplet;
using fgreid::models::TrainOutput;

static_assert(fgreid::Loss<LabelSmoothCE>);
static_assert(fgreid::Loss<Triplet>);
static_assert(fgreid::Loss<Losses<LabelSmoothCE, Triplet>>);

namespace {
double value(const torch::Tensor& t) { return t.item<double>(); }
}  // namespace

TEST_CASE("label-smoothed cross-entropy matches hand-worked cases") {
  SUBCASE("two equal logits: log 2 whatever the smoothing") {
    TrainOutput out{.logits = {torch::zeros({1, 2})}};
    LabelSmoothCE ce({.label_smoothing = 0.1, .ce_weight = 1.0}, {});
    CHECK(value(ce(out, torch::tensor({0L})).total) == doctest::Approx(std::log(2.0)));
  }
  SUBCASE("three classes, ε = 0.3: targets 0.8 / 0.1 / 0.1") {
    TrainOutput out{.logits = {torch::tensor({{2.0f, 0.0f, 0.0f}})}};
    LabelSmoothCE ce({.label_smoothing = 0.3, .ce_weight = 2.0}, {});
    const double z = std::exp(2.0) + 2.0;
    const double expected = -(0.8 * std::log(std::exp(2.0) / z) + 0.2 * std::log(1.0 / z));
    auto result = ce(out, torch::tensor({0L}));
    CHECK(value(result.terms.at(0).second) == doctest::Approx(expected));
    CHECK(value(result.total) == doctest::Approx(2 * expected));  // weighted
  }
  SUBCASE("two branches are averaged") {
    TrainOutput out{.logits = {torch::tensor({{2.0f, 0.0f, 0.0f}}), torch::zeros({1, 3})}};
    LabelSmoothCE ce({.label_smoothing = 0.0, .ce_weight = 1.0}, {});
    const double first = -std::log(std::exp(2.0) / (std::exp(2.0) + 2.0));
    CHECK(value(ce(out, torch::tensor({0L})).total) == doctest::Approx((first + std::log(3.0)) / 2));
  }
}

TEST_CASE("batch-hard triplet takes the farthest positive and nearest negative") {
  // Points on a line: identity 0 at 0 and 1, identity 1 at 3 and 3.5. With margin 3:
  // anchor 0: pos 1, neg 3 -> 1;  anchor 1: pos 1, neg 2 -> 2;
  // anchor 3: pos .5, neg 2 -> 1.5;  anchor 3.5: pos .5, neg 2.5 -> 1.  Mean 1.375.
  TrainOutput out{.embedding = torch::tensor({{0.0f}, {1.0f}, {3.0f}, {3.5f}})};
  auto labels = torch::tensor({0L, 0L, 1L, 1L});
  SUBCASE("hinge") {
    Triplet triplet({.margin = 3.0, .soft_margin = false, .triplet_weight = 1.0}, {});
    CHECK(value(triplet(out, labels).total) == doctest::Approx(1.375));
    Triplet easy({.margin = 0.3, .soft_margin = false, .triplet_weight = 1.0}, {});
    CHECK(value(easy(out, labels).total) == doctest::Approx(0.0));
  }
  SUBCASE("soft margin") {
    Triplet soft({.margin = 0.0, .soft_margin = true, .triplet_weight = 1.0}, {});
    const double expected =
        (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0)) + std::log1p(std::exp(-1.5)) +
         std::log1p(std::exp(-2.0))) / 4;
    CHECK(value(soft(out, labels).total) == doctest::Approx(expected));
  }
  SUBCASE("its gradient pulls the hardest positive in and pushes the nearest negative out") {
    auto x = torch::tensor({{0.0f}, {1.0f}, {3.0f}, {3.5f}}).requires_grad_(true);
    Triplet triplet({.margin = 3.0, .soft_margin = false, .triplet_weight = 1.0}, {});
    triplet(TrainOutput{.embedding = x}, labels).total.backward();
    // Each anchor's loss is |a-p| - |a-n| + 3; summed over anchors, x0 gets -1 (pulled toward
    // 1 as 1's hardest positive; as an anchor its pull and push cancel), x1 +5, x2 -5 (3 is the
    // nearest negative of 0 and 1 and pulls toward 3.5), x3 +1. Divided by the 4 anchors;
    // the gradients sum to zero because the loss ignores a shift of all points.
    auto g = x.grad();
    CHECK(value(g[0][0]) == doctest::Approx(-0.25));
    CHECK(value(g[1][0]) == doctest::Approx(1.25));
    CHECK(value(g[2][0]) == doctest::Approx(-1.25));
    CHECK(value(g[3][0]) == doctest::Approx(0.25));
  }
}

TEST_CASE("the composite sums weighted totals and reports every term") {
  TrainOutput out{.logits = {torch::zeros({4, 2})},
                  .embedding = torch::tensor({{0.0f}, {1.0f}, {3.0f}, {3.5f}})};
  auto labels = torch::tensor({0L, 0L, 1L, 1L});
  Losses<LabelSmoothCE, Triplet>::Options options;
  std::get<1>(options.parts).margin = 3.0;
  std::get<1>(options.parts).triplet_weight = 0.5;
  Losses<LabelSmoothCE, Triplet> loss(options, {});
  auto result = loss(out, labels);
  REQUIRE(result.terms.size() == 2);
  CHECK(result.terms[0].first == "ce");
  CHECK(result.terms[1].first == "triplet");
  CHECK(value(result.total) == doctest::Approx(std::log(2.0) + 0.5 * 1.375));
}
