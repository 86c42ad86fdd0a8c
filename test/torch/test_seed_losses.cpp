// The FGReID seed's loss terms, each checked (value and gradient) against a PyTorch reference
// that this file writes from the terms' description (seed-facts §2), in float64 on random
// P x K batches. One Python process computes every reference; the tests share its file.
#include <fgreid/cli/command_line.hpp>
#include <fgreid/experiment.hpp>
#include <fgreid/losses/fgreid_objective.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

using fgreid::losses::CenterLoss;
using fgreid::losses::CosineTriplet;
using fgreid::losses::FGReIDObjective;
using fgreid::losses::IdentityVariance;
using fgreid::losses::LabelSmoothCE;
using fgreid::losses::Losses;
using fgreid::losses::LossContext;
using fgreid::losses::LossResult;
using fgreid::losses::OsmCaa;
using fgreid::losses::SatisfiedRank;
using fgreid::models::TrainOutput;

static_assert(fgreid::Loss<CosineTriplet>);
static_assert(fgreid::Loss<CenterLoss>);
static_assert(fgreid::Loss<OsmCaa>);
static_assert(fgreid::Loss<IdentityVariance>);
static_assert(fgreid::Loss<SatisfiedRank>);
static_assert(fgreid::Loss<FGReIDObjective>);
static_assert(fgreid::losses::OwnOptimizerLoss<CenterLoss>);
static_assert(!fgreid::losses::OwnOptimizerLoss<OsmCaa>);
static_assert(!fgreid::losses::OwnOptimizerLoss<FGReIDObjective>);  // its CenterLoss part is

namespace {

constexpr std::int64_t kClasses = 20;
constexpr std::int64_t kDim = 48;

constexpr const char* kReferenceScript = R"PY(# Reference values and gradients of the FGReID seed's loss terms, written from their
# description (seed-facts §2), in float64 on random P x K batches.
import sys
import torch

torch.manual_seed(4)
dt = torch.float64
C, D = 20, 48
out = {}

def pk_labels(P, K):
    return torch.randperm(C)[:P].repeat_interleave(K)   # identity-major, as the samplers give

def clustered(labels, gain):
    means = torch.randn(C, D, dtype=dt)
    strength = torch.zeros(C, dtype=dt)
    ids = labels.unique(sorted=False)
    strength[labels.unique()] = torch.linspace(0, gain, len(ids), dtype=dt)
    return strength[labels, None] * means[labels] + torch.randn(len(labels), D, dtype=dt)

labels = pk_labels(8, 4)
B = len(labels)
f = clustered(labels, 3.0)
y1 = 3 * torch.randn(B, C, dtype=dt)
y1[torch.arange(0, B, 2), labels[0::2]] += 8      # half of branch 1 is confident
y2 = 3 * torch.randn(B, C, dtype=dt)
centers = torch.randn(C, D, dtype=dt)
labels_k3 = pk_labels(6, 3)
f_k3 = clustered(labels_k3, 2.0)
out.update(labels=labels, f=f, y1=y1, y2=y2, centers=centers, labels_k3=labels_k3, f_k3=f_k3)

rows = torch.arange(B)

def smoothed_ce(logits, eps=0.1):
    q = torch.full_like(logits, eps / logits.shape[1])
    q[rows, labels] += 1 - eps
    return -(q * torch.log_softmax(logits, 1)).sum(1).mean()

def cosine_triplet(f, margin=2.0750171830713216e-4):
    unit = f / f.norm(dim=1, keepdim=True)
    sim = unit @ unit.T
    per_anchor = []
    for i in range(len(f)):
        same = labels == labels[i]
        per_anchor.append(torch.clamp(sim[i][~same].max() - sim[i][same].min() + margin, min=0))
    per_anchor = torch.stack(per_anchor)
    active = (per_anchor > 0).double().mean().item()
    assert 0 < active < 1, f"want some satisfied and some violated anchors, got {active}"
    return per_anchor.mean()

def center_loss(f, c):
    return ((f - c[labels]) ** 2).sum(1).clamp(1e-12, 1e12).sum() / len(f)

def osm_caa(f, c, alpha=2.0708620427781153, sigma=0.1985923780643122, l=0.483491099945938):
    x = f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
    n = len(x)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1).clamp_min(1e-12).sqrt()
    same = labels[:, None] == labels[None, :]
    off = ~torch.eye(n, dtype=torch.bool)
    s_neg = (alpha - d).clamp_min(1e-12)
    s = torch.where(same, torch.exp(-d ** 2 / sigma ** 2), s_neg)
    c_unit = c / c.norm(dim=1, keepdim=True).clamp_min(1e-12)
    e = torch.exp(x @ c_unit.T)
    a = e[rows, labels] / e.sum(1)
    w = s * torch.minimum(a[:, None], a[None, :])
    zero = torch.zeros_like(w)
    wp = torch.where(same & off, w, zero)
    wn = torch.where(~same & off, w, zero)
    lp = 0.5 * (wp * d ** 2).sum() / wp.sum()
    ln = 0.5 * (wn * s_neg ** 2).sum() / wn.sum()
    return (1 - l) * lp + l * ln

def variance(f, labels, k_div, seed_denominator):
    ids = labels.unique()
    P, n = len(ids), len(f)
    K = n // P
    total = 0
    for i in ids:
        group = f[labels == i]
        proto = group.sum(0) / (k_div if k_div > 0 else len(group))
        total = total + ((group - proto) ** 2).sum()
    return total / (((K - 1) * P) // K if seed_denominator else n - P)

def satisfied_rank(y1, y2, rank_margin=2.0, satisfied_margin=1.0, kl_margin=0.005):
    p1, p2 = y1.softmax(1), y2.softmax(1)
    kl = (p1 * torch.log(p1 / (p2 + 1e-12) + 1e-12)).sum(1).mean()
    t1, t2 = p1[rows, labels], p2[rows, labels]
    rank, sat = torch.relu(t1 - t2 + rank_margin), torch.relu(2 * satisfied_margin - t1 - t2)
    return torch.minimum(rank, sat).mean(), torch.relu(kl - kl_margin), (rank < sat).double().mean().item()

def record(name, value_fn, **inputs):
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    value = value_fn(**leaves)
    value.backward()
    out[name + ".value"] = value.detach()
    for k, v in leaves.items():
        out[name + ".grad_" + k] = v.grad

record("ce", lambda y1, y2: (smoothed_ce(y1) + smoothed_ce(y2)) / 2, y1=y1, y2=y2)
record("cos_triplet", cosine_triplet, f=f)
record("center", center_loss, f=f, c=centers)
record("osm", osm_caa, f=f, c=centers)
record("var_seed", lambda f: variance(f, labels, 4, True), f=f)
record("var_seed_k3", lambda f: variance(f, labels_k3, 4, True), f=f_k3)
record("var_clean_k3", lambda f: variance(f, labels_k3, 0, False), f=f_k3)
lsr, lcns, mix = satisfied_rank(y1, y2)
assert mix == 0, "with the seed's rank margin 2 the rank part never wins"
out["rank_seed.lsr"], out["rank_seed.lcns"] = lsr, lcns
record("rank_seed", lambda y1, y2: sum(satisfied_rank(y1, y2)[:2]), y1=y1, y2=y2)
lsr, lcns, mix = satisfied_rank(y1, y2, rank_margin=1.0)
assert 0 < mix < 1, f"want both parts of min() used with margin 1, got {mix}"
out["rank_m1.lsr"], out["rank_m1.lcns"] = lsr, lcns
record("rank_m1", lambda y1, y2: sum(satisfied_rank(y1, y2, rank_margin=1.0)[:2]), y1=y1, y2=y2)

beta, center_w, var_w = 0.14033231327559872, 0.0005, 6.818137374953562e-4
def total(f, y1, y2, c):
    lsr, lcns, _ = satisfied_rank(y1, y2)
    return ((smoothed_ce(y1) + smoothed_ce(y2)) / 2 + (1 - beta) * cosine_triplet(f)
            + center_w * center_loss(f, c) + beta * osm_caa(f, c)
            + var_w * variance(f, labels, 4, True) + lsr + lcns)
record("total", total, f=f, y1=y1, y2=y2, c=centers)
# The centers' own SGD (lr 0.5): gradient scaled by 1/0.0005 first (seed), or not.
out["total.centers_after"] = centers - 0.5 * out["total.grad_c"] / center_w
out["total.centers_after_plain"] = centers - 0.5 * out["total.grad_c"]
# The training dtype: float32 inputs, double reference value.
out["f32.value"] = total(f.float().double(), y1.float().double(), y2.float().double(), centers.float().double()).detach()

out = {k: (v.detach() if torch.is_tensor(v) else torch.tensor(v, dtype=dt)) for k, v in out.items()}
torch.save(out, sys.argv[1])
print("ok", len(out))
)PY";

/// Every reference tensor, computed once by one Python process.
class Reference {
 public:
  static const Reference& get() {
    static const Reference reference;
    return reference;
  }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] torch::Tensor operator[](const std::string& key) const {
    auto found = tensors_.find(key);
    if (found == tensors_.end()) throw std::out_of_range("no reference entry " + key);
    return found->second;
  }
  /// A copy that requires grad: a leaf for one loss evaluation.
  [[nodiscard]] torch::Tensor leaf(const std::string& key) const {
    return (*this)[key].clone().requires_grad_(true);
  }

 private:
  Reference() {
    fgreid::test::TempDir dir;
    const auto script = dir / "reference.py";
    const auto file = dir / "reference.pt";
    std::ofstream(script) << kReferenceScript;
    const auto python = fgreid::test::run_command(std::string(FGREID_PYTHON) + " " +
                                                  script.string() + " " + file.string());
    if (python.exit_code != 0) {
      error_ = "reference script failed: " + python.err;
      return;
    }
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
    for (const auto& entry : torch::pickle_load(bytes).toGenericDict())
      tensors_[entry.key().toStringRef()] = entry.value().toTensor();
  }
  std::map<std::string, torch::Tensor> tensors_;
  std::string error_;
};

const Reference& reference() {
  const Reference& r = Reference::get();
  INFO(r.error());
  REQUIRE(r.error().empty());
  return r;
}

/// `actual` equals `expected` to 1e-5 relative, element by element; elements far below the
/// largest need only match to 1e-6 of the largest (float32 parts such as the CE).
void check_close(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
  INFO(what);
  REQUIRE(actual.defined());
  REQUIRE(actual.sizes() == expected.sizes());
  const auto a = actual.detach().to(torch::kDouble).cpu();
  const auto e = expected.to(torch::kDouble);
  const double largest = e.abs().max().item<double>();
  const auto excess = (a - e).abs() - (1e-5 * e.abs() + 1e-6 * largest);
  const double worst_relative = ((a - e).abs().max() / std::max(largest, 1e-300)).item<double>();
  INFO("largest reference magnitude ", largest, ", worst error relative to it ", worst_relative);
  CHECK(excess.max().item<double>() <= 0.0);
  CHECK(std::isfinite(worst_relative));
}

double term(const LossResult& result, const std::string& name) {
  for (const auto& [term_name, value] : result.terms)
    if (term_name == name) return value.item<double>();
  FAIL("no term " << name);
  return 0;
}

}  // namespace

TEST_CASE("label-smoothed cross-entropy averages both branches, as the Python reference") {
  const auto& ref = reference();
  auto y1 = ref.leaf("y1"), y2 = ref.leaf("y2");
  LabelSmoothCE ce({}, {});
  auto result = ce(TrainOutput{.logits = {y1, y2}}, ref["labels"]);
  result.total.backward();
  check_close(result.total, ref["ce.value"], "value");
  check_close(y1.grad(), ref["ce.grad_y1"], "gradient of branch 1 logits");
  check_close(y2.grad(), ref["ce.grad_y2"], "gradient of branch 2 logits");
}

TEST_CASE("cosine batch-hard triplet matches the Python reference, value and gradient") {
  const auto& ref = reference();
  auto f = ref.leaf("f");
  CosineTriplet triplet({}, {});
  auto result = triplet(TrainOutput{.embedding = f}, ref["labels"]);
  (result.total / (1.0 - CosineTriplet::Options{}.beta_ratio)).backward();
  check_close(result.terms.at(0).second, ref["cos_triplet.value"], "value");
  check_close(result.total, ref["cos_triplet.value"] * (1.0 - 0.14033231327559872), "weight 1 - beta");
  check_close(f.grad(), ref["cos_triplet.grad_f"], "gradient");
}

TEST_CASE("center loss matches the Python reference, for features and centers") {
  const auto& ref = reference();
  auto f = ref.leaf("f");
  CenterLoss center({}, LossContext{kClasses, kDim});
  CHECK(center.centers().sizes().vec() == std::vector<std::int64_t>{kClasses, kDim});
  CHECK(center.centers().requires_grad());
  center.set_centers(ref["centers"]);
  auto result = center(TrainOutput{.embedding = f}, ref["labels"]);
  check_close(result.total, ref["center.value"] * 0.0005, "weighted value");
  result.terms.at(0).second.backward();
  check_close(result.terms.at(0).second, ref["center.value"], "value");
  check_close(f.grad(), ref["center.grad_f"], "gradient of the features");
  check_close(center.centers().grad(), ref["center.grad_c"], "gradient of the centers");
}

TEST_CASE("OSM + CAA matches the Python reference, with its attention from the centers") {
  const auto& ref = reference();
  auto f = ref.leaf("f");
  auto centers = ref.leaf("centers");
  const double beta = 0.14033231327559872;
  SUBCASE("the seed: OSM's gradient reaches the centers") {
    OsmCaa osm({}, {});
    osm.use_centers(centers);
    auto result = osm(TrainOutput{.embedding = f}, ref["labels"]);
    (result.total / beta).backward();
    check_close(result.terms.at(0).second, ref["osm.value"], "value");
    check_close(result.total, ref["osm.value"] * beta, "weight beta");
    check_close(f.grad(), ref["osm.grad_f"], "gradient of the features");
    check_close(centers.grad(), ref["osm.grad_c"], "gradient of the centers");
  }
  SUBCASE("detached centers: same value and feature gradient, none for the centers") {
    OsmCaa osm({.osm_trains_centers = false}, {});
    osm.use_centers(centers);
    auto result = osm(TrainOutput{.embedding = f}, ref["labels"]);
    result.terms.at(0).second.backward();
    check_close(result.terms.at(0).second, ref["osm.value"], "value");
    check_close(f.grad(), ref["osm.grad_f"], "gradient of the features");
    CHECK_FALSE(centers.grad().defined());
  }
  SUBCASE("without centers it says where they come from") {
    OsmCaa osm({}, {});
    CHECK_THROWS_WITH(osm(TrainOutput{.embedding = f}, ref["labels"]),
                      doctest::Contains("CenterLoss"));
  }
}

TEST_CASE("identity variance matches the Python reference, the seed's 4 and denominator kept") {
  const auto& ref = reference();
  auto check = [&](const IdentityVariance::Options& options, const std::string& name,
                   const std::string& features, const std::string& labels) {
    auto f = ref.leaf(features);
    IdentityVariance variance(options, {});
    auto result = variance(TrainOutput{.embedding = f}, ref[labels]);
    result.terms.at(0).second.backward();
    check_close(result.terms.at(0).second, ref[name + ".value"], name + " value");
    check_close(result.total, ref[name + ".value"] * options.var_weight, name + " weighted");
    check_close(f.grad(), ref[name + ".grad_f"], name + " gradient");
  };
  SUBCASE("the seed on 8 x 4: prototypes are means, denominator 3*8/4 = 6") {
    check({}, "var_seed", "f", "labels");
  }
  SUBCASE("the seed on 6 x 3: sums / 4, denominator (2*6) div 3 = 4") {
    check({}, "var_seed_k3", "f_k3", "labels_k3");
  }
  SUBCASE("the clean variant on 6 x 3: true means, denominator B - P = 12") {
    check({.var_weight = 0.01, .var_k = 0, .var_seed_denominator = false}, "var_clean_k3", "f_k3",
          "labels_k3");
  }
}

TEST_CASE("satisfied rank and KL consistency match the Python reference") {
  const auto& ref = reference();
  auto check = [&](const SatisfiedRank::Options& options, const std::string& name) {
    auto y1 = ref.leaf("y1"), y2 = ref.leaf("y2");
    SatisfiedRank rank(options, {});
    auto result = rank(TrainOutput{.logits = {y1, y2}}, ref["labels"]);
    result.total.backward();
    REQUIRE(result.terms.size() == 2);
    CHECK(result.terms[0].first == "lsr");
    CHECK(result.terms[1].first == "lcns");
    check_close(result.terms[0].second, ref[name + ".lsr"], name + " lsr");
    check_close(result.terms[1].second, ref[name + ".lcns"], name + " lcns");
    CHECK(ref[name + ".lcns"].item<double>() > 0);  // the KL term is active here
    check_close(y1.grad(), ref[name + ".grad_y1"], name + " gradient of branch 1");
    check_close(y2.grad(), ref[name + ".grad_y2"], name + " gradient of branch 2");
  };
  SUBCASE("the seed's margins (the rank part never wins)") { check({}, "rank_seed"); }
  SUBCASE("rank margin 1 (both parts of the min act)") { check({.rank_margin = 1.0}, "rank_m1"); }
  SUBCASE("one branch is an error") {
    SatisfiedRank rank({}, {});
    CHECK_THROWS_WITH(rank(TrainOutput{.logits = {ref["y1"]}}, ref["labels"]),
                      doctest::Contains("two classifier branches"));
  }
}

TEST_CASE("the FGReID objective is the seed's weighted sum, its centers stepped as the seed's") {
  const auto& ref = reference();
  auto f = ref.leaf("f"), y1 = ref.leaf("y1"), y2 = ref.leaf("y2");
  FGReIDObjective::Options options;
  bool rescale = true;
  SUBCASE("centers' gradient scaled by 1/0.0005 before their SGD step (seed)") {}
  SUBCASE("plain SGD on the weighted total") { rescale = false; }
  std::get<CenterLoss::Options>(options.parts).center_rescale_gradient = rescale;
  FGReIDObjective loss(options, LossContext{kClasses, kDim});
  auto& center = std::get<CenterLoss>(loss.parts());
  center.set_centers(ref["centers"]);

  auto result = loss(TrainOutput{.logits = {y1, y2}, .embedding = f}, ref["labels"]);
  result.total.backward();
  check_close(result.total, ref["total.value"], "total");
  std::vector<std::string> names;
  for (const auto& [name, value] : result.terms) names.push_back(name);
  CHECK(names == std::vector<std::string>{"ce", "cos_triplet", "center", "osm", "var", "lsr", "lcns"});
  CHECK(term(result, "ce") == doctest::Approx(ref["ce.value"].item<double>()).epsilon(1e-6));
  CHECK(term(result, "cos_triplet") == doctest::Approx(ref["cos_triplet.value"].item<double>()).epsilon(1e-9));
  CHECK(term(result, "center") == doctest::Approx(ref["center.value"].item<double>()).epsilon(1e-9));
  CHECK(term(result, "osm") == doctest::Approx(ref["osm.value"].item<double>()).epsilon(1e-9));
  CHECK(term(result, "var") == doctest::Approx(ref["var_seed.value"].item<double>()).epsilon(1e-9));
  CHECK(term(result, "lsr") == doctest::Approx(ref["rank_seed.lsr"].item<double>()).epsilon(1e-9));
  CHECK(term(result, "lcns") == doctest::Approx(ref["rank_seed.lcns"].item<double>()).epsilon(1e-9));
  check_close(f.grad(), ref["total.grad_f"], "gradient of the embedding");
  check_close(y1.grad(), ref["total.grad_y1"], "gradient of branch 1 logits");
  check_close(y2.grad(), ref["total.grad_y2"], "gradient of branch 2 logits");
  // The centers collect the center loss's and OSM's gradients: OSM reads CenterLoss's centers.
  check_close(center.centers().grad(), ref["total.grad_c"], "gradient of the centers");

  int stepped = 0;
  fgreid::losses::for_each_own_optimizer(loss, [&](auto& part) {
    part.step();
    ++stepped;
  });
  CHECK(stepped == 1);
  check_close(center.centers(),
              ref[rescale ? "total.centers_after" : "total.centers_after_plain"], "centers after the step");
  CHECK(center.centers().grad().abs().max().item<double>() == 0.0);
}

TEST_CASE("in float32, the training dtype, the objective gives the seed's total to 1e-5") {
  const auto& ref = reference();
  FGReIDObjective loss({}, LossContext{kClasses, kDim});
  std::get<CenterLoss>(loss.parts()).set_centers(ref["centers"].to(torch::kFloat));
  auto result = loss(TrainOutput{.logits = {ref["y1"].to(torch::kFloat), ref["y2"].to(torch::kFloat)},
                                 .embedding = ref["f"].to(torch::kFloat)},
                     ref["labels"]);
  CHECK((result.total.scalar_type() == torch::kFloat));
  check_close(result.total, ref["f32.value"], "total");
}

TEST_CASE("the objective's flags: one --beta-ratio sets both weights, every flag documented") {
  FGReIDObjective::Options options;
  fgreid::cli::CommandLine cli("test", "");
  fgreid::detail::add_policy_flags<FGReIDObjective>(cli, options);
  for (const auto& flag : cli.flags()) {
    INFO("--", flag.name);
    CHECK_FALSE(flag.doc.empty());
  }
  const char* argv[] = {"test", "--beta-ratio", "0.25", "--var-k", "0", "--center-lr", "0.1"};
  REQUIRE(cli.parse(7, argv));
  CHECK(std::get<CosineTriplet::Options>(options.parts).beta_ratio == 0.25);
  CHECK(std::get<OsmCaa::Options>(options.parts).beta_ratio == 0.25);
  CHECK(std::get<IdentityVariance::Options>(options.parts).var_k == 0);
  FGReIDObjective loss(options, LossContext{kClasses, kDim});
  CHECK(std::get<CenterLoss>(loss.parts()).learning_rate() == 0.1);
}

TEST_CASE("CenterLoss's centers keep their handle through device moves and new values") {
  CenterLoss center({}, LossContext{3, 2});
  const auto handle = center.centers().unsafeGetTensorImpl();
  center.set_centers(torch::ones({3, 2}));
  center.to(torch::kCPU);
  CHECK(center.centers().unsafeGetTensorImpl() == handle);
  CHECK(torch::equal(center.centers(), torch::ones({3, 2})));
  CHECK(center.centers().requires_grad());
  CHECK_THROWS(center.set_centers(torch::ones({2, 2})));
  CHECK(center.gradient_scale() == doctest::Approx(2000.0));
  CenterLoss only_osm({.center_weight = 0.0}, LossContext{3, 2});
  CHECK(only_osm.gradient_scale() == 1.0);
}
