#include <fgreid/eval/metrics.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <tbb/global_control.h>

#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace ev = fgreid::eval;
using Ids = std::vector<std::int64_t>;

/// evaluate_market on owning vectors.
ev::Metrics evaluate(const std::vector<float>& distances, const Ids& query_pids,
                     const Ids& query_camids, const Ids& gallery_pids, const Ids& gallery_camids,
                     int max_rank) {
  return ev::evaluate_market(distances, ev::Labels{query_pids, query_camids},
                             ev::Labels{gallery_pids, gallery_camids}, max_rank);
}

/// torchreid's eval_market1501 with fast-reid's mINP (test/reference/torchreid_reference.py).
constexpr const char* kReferenceScript = R"PY(
import json, sys
from torchreid_reference import eval_market1501_minp, read_case

meta, distmat, labels = read_case(sys.argv[1])
cmc, mAP, mINP, valid = eval_market1501_minp(distmat, *labels, meta["max_rank"])
print(json.dumps({"cmc": cmc.tolist(), "mAP": mAP, "mINP": mINP, "valid": valid}))
)PY";

/// A random case with cameras 1..`cameras`.
fgreid::test::RankingCase random_case(std::size_t num_query, std::size_t num_gallery,
                                      int identities, int cameras, std::uint32_t seed) {
  return fgreid::test::random_ranking_case(num_query, num_gallery, identities, 1, cameras, seed);
}

/// The reference's metrics of `c`.
nlohmann::json reference_metrics(const fgreid::test::RankingCase& c, int max_rank) {
  fgreid::test::TempDir folder;
  fgreid::test::write_ranking_case(folder, c, {{"max_rank", max_rank}});
  return fgreid::test::run_python_reference(kReferenceScript, folder);
}

}  // namespace

TEST_CASE("CMC, mAP and mINP of two queries match the hand-worked values") {
  // Gallery:      g0        g1        g2        g3        g4
  //   pid/cam     1/c2      2/c2      1/c3      3/c2      2/c3
  // q0 (pid 1, c1) distances .3 .1 .5 .2 .4 -> ranking g1 g3 g0 g4 g2: hits at positions 2, 4
  //   first hit rank 3; AP = (1/3 + 2/5) / 2 = 11/30; mINP = 2 hits / 5 = 0.4
  // q1 (pid 2, c1) distances .2 .4 .3 .5 .1 -> ranking g4 g0 g2 g1 g3: hits at positions 0, 3
  //   first hit rank 1; AP = (1/1 + 2/4) / 2 = 3/4;  mINP = 2 / 4 = 0.5
  const std::vector<float> distances = {0.3f, 0.1f, 0.5f, 0.2f, 0.4f,   //
                                        0.2f, 0.4f, 0.3f, 0.5f, 0.1f};
  const auto m = evaluate(distances, {1, 2}, {1, 1}, {1, 2, 1, 3, 2}, {2, 2, 3, 2, 3}, 5);
  REQUIRE(m.cmc.size() == 5);
  CHECK(m.cmc[0] == 0.5);  // only q1 hits at rank 1
  CHECK(m.cmc[1] == 0.5);
  CHECK(m.cmc[2] == 1.0);  // q0's first hit is 3rd
  CHECK(m.cmc[3] == 1.0);
  CHECK(m.cmc[4] == 1.0);
  CHECK(m.mAP == doctest::Approx((11.0 / 30 + 3.0 / 4) / 2).epsilon(1e-12));  // 67/120
  CHECK(m.mINP == doctest::Approx((0.4 + 0.5) / 2).epsilon(1e-12));
  CHECK(m.valid_queries == 2);
  CHECK(m.total_queries == 2);
}

TEST_CASE("gallery entries of the query's identity and camera are removed from the ranking") {
  // Query pid 1, camera 1. Gallery (distance pid/cam): g0 .1 1/c1 (removed), g1 .2 5/c2,
  // g2 .3 1/c2 (the true match), g3 .05 1/c1 (removed), g4 .4 6/c1 (same camera, other
  // identity: kept). Kept ranking g1 g2 g4: the match is 2nd -> AP 1/2, mINP 1/2.
  const auto m = evaluate({0.1f, 0.2f, 0.3f, 0.05f, 0.4f}, {1}, {1}, {1, 5, 1, 1, 6},
                          {1, 2, 2, 1, 1}, 3);
  CHECK(m.cmc == std::vector<double>{0.0, 1.0, 1.0});
  CHECK(m.mAP == 0.5);
  CHECK(m.mINP == 0.5);
}

TEST_CASE("a query left without a true match is skipped and not counted as valid") {
  // q0 (pid 1, c1): its only same-identity entry g0 shares its camera -> no match, skipped.
  // q1 (pid 9): identity absent from the gallery -> skipped.
  // q2 (pid 2, c1): ranking g1(.1) g2(.2) g0(.3): match g1 first -> AP 1, mINP 1.
  const std::vector<float> distances = {0.1f, 0.2f, 0.3f,  //
                                        0.1f, 0.2f, 0.3f,  //
                                        0.3f, 0.1f, 0.2f};
  const auto m = evaluate(distances, {1, 9, 2}, {1, 1, 1}, {1, 2, 3}, {1, 2, 2}, 3);
  CHECK(m.valid_queries == 1);
  CHECK(m.total_queries == 3);
  CHECK(m.cmc == std::vector<double>{1.0, 1.0, 1.0});
  CHECK(m.mAP == 1.0);
  CHECK(m.mINP == 1.0);
}

TEST_CASE("no valid query gives zeros rather than an error") {
  const auto m = evaluate({0.5f, 0.5f}, {1, 2}, {1, 1}, {1}, {1}, 5);
  CHECK(m.valid_queries == 0);
  CHECK(m.total_queries == 2);
  CHECK(m.cmc == std::vector<double>(5, 0.0));
  CHECK(m.mAP == 0.0);
  CHECK(m.mINP == 0.0);

  const auto empty_gallery = evaluate({}, {1, 2}, {1, 1}, {}, {}, 3);
  CHECK(empty_gallery.valid_queries == 0);
  CHECK(empty_gallery.cmc == std::vector<double>(3, 0.0));
}

TEST_CASE("max_rank beyond the gallery pads the CMC with its last value") {
  // Query pid 1, c1; gallery g0 .1 2/c2, g1 .2 1/c2, g2 .3 3/c3: the match is 2nd of 3.
  const auto m = evaluate({0.1f, 0.2f, 0.3f}, {1}, {1}, {2, 1, 3}, {2, 2, 3}, 10);
  REQUIRE(m.cmc.size() == 10);
  CHECK(m.cmc[0] == 0.0);
  for (std::size_t k = 1; k < m.cmc.size(); ++k) CHECK(m.cmc[k] == 1.0);

  const auto json = ev::to_json(m);
  CHECK(json["rank1"] == 0.0);
  CHECK(json["rank5"] == 1.0);
  CHECK(json["rank10"] == 1.0);
  CHECK_FALSE(json.contains("rank20"));  // beyond max_rank: not computed
  CHECK(json["mAP"] == 0.5);
  CHECK(json["valid_queries"] == 1);
}

TEST_CASE("distractors (pid 0) are plain non-matches that push true matches down") {
  // Query pid 4, c1. Gallery: distractors g0 (.1, c2), g1 (.2, c3) and g3 (.05, c1 -- the
  // query's camera, but kept: its pid differs), then the match g2 (.3, pid 4, c2).
  // Ranking g3 g0 g1 g2 -> first hit rank 4, AP 1/4, mINP 1/4.
  const auto m = evaluate({0.1f, 0.2f, 0.3f, 0.05f}, {4}, {1}, {0, 0, 4, 0}, {2, 3, 2, 1}, 4);
  CHECK(m.cmc == std::vector<double>{0.0, 0.0, 0.0, 1.0});
  CHECK(m.mAP == doctest::Approx(1.0 / 4));
  CHECK(m.mINP == doctest::Approx(1.0 / 4));

  // No pid is special: a query of pid 0 matches gallery pid 0 seen by another camera.
  const auto distractor_query = evaluate({0.1f, 0.2f, 0.3f, 0.05f}, {0}, {1}, {0, 0, 4, 0},
                                         {2, 3, 2, 1}, 4);
  // g3 (0/c1) removed; ranking g0 g1 g2 -> hits at 0 and 1: AP 1, mINP 2/2.
  CHECK(distractor_query.mAP == 1.0);
  CHECK(distractor_query.mINP == 1.0);
}

TEST_CASE("ties rank by gallery index, -0 ties +0, and NaN ranks last") {
  // All distances equal: the ranking is g0 g1 g2; matches g1, g2 at positions 1, 2:
  // AP = (1/2 + 2/3) / 2 = 7/12, mINP = 2/3.
  const auto tied = evaluate({0.5f, 0.5f, 0.5f}, {1}, {1}, {2, 1, 1}, {2, 2, 3}, 3);
  CHECK(tied.cmc == std::vector<double>{0.0, 1.0, 1.0});
  CHECK(tied.mAP == doctest::Approx(7.0 / 12));
  CHECK(tied.mINP == doctest::Approx(2.0 / 3));

  // -0 and +0 compare equal, so index decides: g0 (+0, non-match) before g1 (-0, match).
  const auto zeros = evaluate({0.0f, -0.0f}, {1}, {1}, {2, 1}, {2, 2}, 2);
  CHECK(zeros.cmc == std::vector<double>{0.0, 1.0});

  // NaN after +inf: the match at +inf is first.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const auto with_nan = evaluate({nan, inf}, {1}, {1}, {2, 1}, {2, 2}, 2);
  CHECK(with_nan.cmc == std::vector<double>{1.0, 1.0});
}

TEST_CASE("sizes that do not fit and max_rank < 1 are refused") {
  CHECK_THROWS_AS(evaluate({0.1f, 0.2f}, {1}, {1}, {1, 2, 3}, {1, 1, 1}, 5), std::invalid_argument);
  CHECK_THROWS_AS(evaluate({0.1f}, {1}, {1, 2}, {1}, {1}, 5), std::invalid_argument);
  CHECK_THROWS_AS(evaluate({0.1f}, {1}, {1}, {2}, {2}, 0), std::invalid_argument);
}

TEST_CASE("random cases agree with torchreid's eval_market1501 and fast-reid's mINP") {
  struct Shape {
    std::size_t queries, gallery;
    int identities, cameras, max_rank;
  };
  // A Market-like case, a gallery shorter than max_rank, few identities with many matches.
  for (const Shape& shape : {Shape{60, 500, 40, 6, 50}, Shape{25, 30, 8, 3, 50},
                             Shape{40, 300, 3, 2, 20}}) {
    CAPTURE(shape.queries);
    CAPTURE(shape.gallery);
    const auto c = random_case(shape.queries, shape.gallery, shape.identities, shape.cameras,
                               static_cast<std::uint32_t>(shape.queries * 7919 + shape.gallery));
    const auto m = evaluate(c.distances, c.query_pids, c.query_camids, c.gallery_pids,
                            c.gallery_camids, shape.max_rank);
    const auto reference = reference_metrics(c, shape.max_rank);
    CHECK(m.valid_queries == reference["valid"].get<std::int64_t>());
    CHECK(m.valid_queries > 0);
    CHECK(m.mAP == doctest::Approx(reference["mAP"].get<double>()).epsilon(1e-6));
    CHECK(m.mINP == doctest::Approx(reference["mINP"].get<double>()).epsilon(1e-6));
    const auto reference_cmc = reference["cmc"].get<std::vector<double>>();
    REQUIRE(m.cmc.size() == reference_cmc.size());
    for (std::size_t k = 0; k < m.cmc.size(); ++k) {
      CAPTURE(k);
      CHECK(m.cmc[k] == doctest::Approx(reference_cmc[k]).epsilon(1e-6));
    }
  }
}

TEST_CASE("the metrics do not depend on the number of threads") {
  const auto c = random_case(300, 800, 60, 6, 12345);
  auto run = [&] {
    return evaluate(c.distances, c.query_pids, c.query_camids, c.gallery_pids, c.gallery_camids,
                    50);
  };
  const auto parallel = run();
  const auto serial = [&] {
    tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
    return run();
  }();
  CHECK(parallel.cmc == serial.cmc);
  CHECK(parallel.mAP == serial.mAP);  // bit-equal: summed in query order either way
  CHECK(parallel.mINP == serial.mINP);
  CHECK(parallel.valid_queries == serial.valid_queries);
}
