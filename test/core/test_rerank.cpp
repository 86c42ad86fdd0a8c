#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/rerank.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <tbb/global_control.h>

#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace ev = fgreid::eval;
using Ids = std::vector<std::int64_t>;

/// torchreid's re_ranking (test/reference/torchreid_reference.py) on the three float32
/// matrices the test writes; writes final_dist as float32 and prints its shape.
constexpr const char* kReferenceScript = R"PY(
import json, sys
import numpy as np
from torchreid_reference import re_ranking

folder = sys.argv[1]
meta = json.load(open(f"{folder}/meta.json"))
nq, ng = meta["nq"], meta["ng"]
qg = np.fromfile(f"{folder}/qg.f32", dtype=np.float32).reshape(nq, ng)
qq = np.fromfile(f"{folder}/qq.f32", dtype=np.float32).reshape(nq, nq)
gg = np.fromfile(f"{folder}/gg.f32", dtype=np.float32).reshape(ng, ng)
final = re_ranking(qg, qq, gg, meta["k1"], meta["k2"], meta["lambda"])
final.astype(np.float32).tofile(f"{folder}/final.f32")
print(json.dumps(list(final.shape)))
)PY";

/// Random features with identity structure: each identity has a centre, each camera a shift,
/// each image noise. Euclidean distances in double, stored as float32.
struct Case {
  std::size_t nq = 0, ng = 0;
  std::vector<float> qg, qq, gg;
  Ids query_pids, query_camids, gallery_pids, gallery_camids;
};

Case make_case(std::size_t nq, std::size_t ng, int identities, int dims, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<std::int64_t> pid(0, identities - 1), camid(0, 5);
  std::vector<std::vector<double>> centres(static_cast<std::size_t>(identities),
                                           std::vector<double>(static_cast<std::size_t>(dims)));
  for (auto& centre : centres)
    for (double& x : centre) x = normal(random);
  Case c;
  c.nq = nq;
  c.ng = ng;
  auto draw = [&](Ids& pids, Ids& camids, std::size_t count) {
    std::vector<std::vector<double>> rows;
    for (std::size_t k = 0; k < count; ++k) {
      pids.push_back(pid(random));
      camids.push_back(camid(random));
      std::vector<double> row = centres[static_cast<std::size_t>(pids.back())];
      for (double& x : row) x += 0.9 * normal(random);
      rows.push_back(std::move(row));
    }
    return rows;
  };
  const auto q = draw(c.query_pids, c.query_camids, nq);
  const auto g = draw(c.gallery_pids, c.gallery_camids, ng);
  auto distances = [](const auto& a, const auto& b) {
    std::vector<float> out;
    for (const auto& x : a)
      for (const auto& y : b) {
        double sum = 0;
        for (std::size_t d = 0; d < x.size(); ++d) sum += (x[d] - y[d]) * (x[d] - y[d]);
        out.push_back(static_cast<float>(std::sqrt(sum)));
      }
    return out;
  };
  c.qg = distances(q, g);
  c.qq = distances(q, q);
  c.gg = distances(g, g);
  return c;
}

std::vector<float> reference_rerank(const Case& c, const ev::RerankOptions& options) {
  fgreid::test::TempDir folder;
  fgreid::test::write_binary(folder / "qg.f32", c.qg);
  fgreid::test::write_binary(folder / "qq.f32", c.qq);
  fgreid::test::write_binary(folder / "gg.f32", c.gg);
  std::ofstream(folder / "meta.json") << nlohmann::json{{"nq", c.nq},
                                                        {"ng", c.ng},
                                                        {"k1", options.k1},
                                                        {"k2", options.k2},
                                                        {"lambda", options.lambda}}
                                             .dump();
  const auto shape = fgreid::test::run_python_reference(kReferenceScript, folder);
  REQUIRE(shape == nlohmann::json{c.nq, c.ng});
  return fgreid::test::read_binary<float>(folder / "final.f32", c.nq * c.ng);
}

ev::Metrics metrics_of(const Case& c, const std::vector<float>& distances) {
  return ev::evaluate_market(distances, ev::Labels{c.query_pids, c.query_camids},
                             ev::Labels{c.gallery_pids, c.gallery_camids}, 50);
}

/// `symmetric`: read one triangle of M (the case's qq and gg are exactly symmetric).
std::vector<float> rerank(const Case& c, const ev::RerankOptions& options, bool symmetric = false) {
  const ev::DenseRerankSource source(c.qg, c.qq, c.gg, c.nq, c.ng, true, symmetric);
  return ev::rerank(source, options);
}

}  // namespace

TEST_CASE("re-ranking equals torchreid's re_ranking on random inputs with identity structure") {
  struct Shape {
    std::size_t queries, gallery;
    int identities, dims, k1, k2;
    double lambda;
  };
  for (const Shape& shape : {Shape{30, 120, 25, 16, 20, 6, 0.3}, Shape{60, 300, 40, 32, 20, 6, 0.3},
                             Shape{20, 80, 10, 8, 7, 3, 0.5}, Shape{25, 90, 12, 8, 10, 1, 0.2}}) {
    CAPTURE(shape.queries);
    CAPTURE(shape.gallery);
    CAPTURE(shape.k1);
    CAPTURE(shape.k2);
    const auto c = make_case(shape.queries, shape.gallery, shape.identities, shape.dims,
                             static_cast<std::uint32_t>(shape.queries * 31 + shape.gallery));
    const ev::RerankOptions options{shape.k1, shape.k2, shape.lambda};
    const auto ours = rerank(c, options);
    const auto reference = reference_rerank(c, options);
    // Reading one triangle of M changes the order of work, not one bit of the result.
    CHECK(rerank(c, options, true) == ours);
    REQUIRE(ours.size() == reference.size());
    float worst = 0;
    for (std::size_t k = 0; k < ours.size(); ++k)
      worst = std::max(worst, std::abs(ours[k] - reference[k]));
    CHECK(worst < 1e-5f);

    const auto mine = metrics_of(c, ours);
    const auto theirs = metrics_of(c, reference);
    const auto plain = metrics_of(c, c.qg);
    CHECK(mine.valid_queries > 0);
    CHECK(mine.mAP == doctest::Approx(theirs.mAP).epsilon(1e-4));
    CHECK(mine.mINP == doctest::Approx(theirs.mINP).epsilon(1e-4));
    for (std::size_t k = 0; k < mine.cmc.size(); ++k) {
      CAPTURE(k);
      CHECK(mine.cmc[k] == doctest::Approx(theirs.cmc[k]).epsilon(1e-4));
    }
    // Re-ranking must have changed something, or the comparison proves little.
    CHECK(mine.mAP != plain.mAP);
  }
}

TEST_CASE("re-ranking does not depend on the number of threads") {
  const auto c = make_case(40, 200, 30, 16, 99);
  for (const bool symmetric : {false, true}) {
    CAPTURE(symmetric);
    const auto parallel = rerank(c, {}, symmetric);
    const auto serial = [&] {
      tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
      return rerank(c, {}, symmetric);
    }();
    CHECK(parallel == serial);
  }
}

TEST_CASE("reading one triangle of M breaks ties by index, those in the data and those made by "
          "normalising") {
  SUBCASE("distances with many equal values") {
    // Hamming distances between 4-bit codes: every value repeats many times.
    Case c = make_case(12, 40, 6, 4, 7);
    std::mt19937 random(3);
    std::vector<int> codes(c.nq + c.ng);
    for (int& code : codes) code = static_cast<int>(random() % 16);
    auto hamming = [&](std::size_t a, std::size_t b) {
      return std::sqrt(static_cast<float>(__builtin_popcount(codes[a] ^ codes[b])));
    };
    for (std::size_t i = 0; i < c.nq; ++i) {
      for (std::size_t j = 0; j < c.nq; ++j) c.qq[i * c.nq + j] = hamming(i, j);
      for (std::size_t g = 0; g < c.ng; ++g) c.qg[i * c.ng + g] = hamming(i, c.nq + g);
    }
    for (std::size_t g = 0; g < c.ng; ++g)
      for (std::size_t h = 0; h < c.ng; ++h) c.gg[g * c.ng + h] = hamming(c.nq + g, c.nq + h);
    for (const ev::RerankOptions options : {ev::RerankOptions{5, 3, 0.3}, ev::RerankOptions{}}) {
      CAPTURE(options.k1);
      CHECK(rerank(c, options, true) == rerank(c, options, false));
    }
  }
  SUBCASE("values that differ until divided by the maximum") {
    // Item 0 is at a from items 7, 8, 9 and at b > a from item 5; divided by the maximum m, a
    // and b are equal, so index order must make 5 and 7 the third and fourth of item 0's
    // k1 + 1 = 4 nearest. Counting by a, 5 is not even among the first five.
    const float m = 9.7f;
    float a = 2.5f, b = 0;
    for (; a < m; a = std::nextafter(a, m)) {
      b = std::nextafter(a, m);
      if (a / m == b / m) break;
    }
    REQUIRE(a < b);
    REQUIRE(a / m == b / m);
    const std::size_t nq = 2, ng = 8, n = nq + ng;
    std::vector<float> full(n * n, m);
    for (std::size_t i = 0; i < n; ++i) full[i * n + i] = 0;
    auto set = [&](std::size_t i, std::size_t j, float value) {
      full[i * n + j] = full[j * n + i] = value;
    };
    set(0, 1, 1.0f);
    set(0, 5, b);
    for (const std::size_t item : {7, 8, 9}) set(0, item, a);
    Case c;
    c.nq = nq;
    c.ng = ng;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        if (i < nq) (j < nq ? c.qq : c.qg).push_back(full[i * n + j]);
        else if (j >= nq) c.gg.push_back(full[i * n + j]);
      }
    const ev::RerankOptions options{3, 1, 0.3};
    auto run = [&](bool symmetric) {
      const ev::DenseRerankSource source(c.qg, c.qq, c.gg, nq, ng, false, symmetric);
      return ev::rerank(source, options);
    };
    const auto streamed = run(false), triangle = run(true);
    // The streamed pass ranks items 5 and 7 in, 8 and 9 out: query 0 ends nearer to 5 than 8.
    CHECK(streamed[0 * ng + (5 - nq)] < streamed[0 * ng + (8 - nq)]);
    CHECK(triangle == streamed);
  }
}

TEST_CASE("re-ranking refuses bad parameters and sizes") {
  const auto c = make_case(5, 10, 3, 4, 1);
  CHECK_THROWS_AS(rerank(c, {0, 1, 0.3}), std::invalid_argument);
  CHECK_THROWS_AS(rerank(c, {5, 7, 0.3}), std::invalid_argument);
  CHECK_THROWS_AS(rerank(c, {5, 2, 1.5}), std::invalid_argument);
  CHECK_THROWS_AS(ev::DenseRerankSource(c.qg, c.qq, c.gg, 5, 11), std::invalid_argument);
}
