#include <fgreid/eval/metrics.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <tbb/global_control.h>

#include "reference.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace ev = fgreid::eval;
using Ids = std::vector<std::int64_t>;

/// torchreid's eval_cuhk03 with fgreid's counter-based draw
/// (test/reference/torchreid_reference.py).
constexpr const char* kReferenceScript = R"PY(
import json, sys
from torchreid_reference import eval_cuhk03_single_shot, read_case

meta, distmat, labels = read_case(sys.argv[1])
cmc, mAP, valid = eval_cuhk03_single_shot(distmat, *labels, meta["max_rank"], meta["repeats"],
                                          meta["seed"])
print(json.dumps({"cmc": cmc.tolist(), "mAP": mAP, "valid": valid}))
)PY";

using Case = fgreid::test::RankingCase;

/// Cameras 0..2, so each identity has several images, some seen by the query's camera.
Case random_case(std::size_t nq, std::size_t ng, int identities, std::uint32_t seed) {
  return fgreid::test::random_ranking_case(nq, ng, identities, 0, 2, seed);
}

ev::Metrics single_shot(const Case& c, int max_rank, ev::SingleShotOptions options) {
  return ev::evaluate_single_shot(c.distances, ev::Labels{c.query_pids, c.query_camids},
                                  ev::Labels{c.gallery_pids, c.gallery_camids}, max_rank,
                                  options);
}

nlohmann::json reference(const Case& c, int max_rank, ev::SingleShotOptions options) {
  fgreid::test::TempDir folder;
  fgreid::test::write_ranking_case(
      folder, c, {{"max_rank", max_rank}, {"repeats", options.repeats}, {"seed", options.seed}});
  return fgreid::test::run_python_reference(kReferenceScript, folder);
}

}  // namespace

TEST_CASE("single-gallery-shot CMC equals a port of torchreid's eval_cuhk03") {
  struct Shape {
    std::size_t queries, gallery;
    int identities, max_rank, repeats;
    std::uint64_t seed;
  };
  // Many identities (CMC cut at max_rank), fewer identities than max_rank (padding).
  for (const Shape& shape : {Shape{50, 400, 80, 20, 10, 1}, Shape{30, 120, 12, 50, 7, 12345}}) {
    CAPTURE(shape.identities);
    const auto c = random_case(shape.queries, shape.gallery, shape.identities,
                               static_cast<std::uint32_t>(shape.gallery));
    const ev::SingleShotOptions options{shape.repeats, shape.seed};
    const auto m = single_shot(c, shape.max_rank, options);
    const auto expected = reference(c, shape.max_rank, options);
    CHECK(m.valid_queries == expected["valid"].get<std::int64_t>());
    CHECK(m.mAP == doctest::Approx(expected["mAP"].get<double>()).epsilon(1e-9));
    const auto cmc = expected["cmc"].get<std::vector<double>>();
    REQUIRE(m.cmc.size() == cmc.size());
    for (std::size_t k = 0; k < cmc.size(); ++k) {
      CAPTURE(k);
      CHECK(m.cmc[k] == doctest::Approx(cmc[k]).epsilon(1e-9));
    }
    // The protocol must differ from the multi-shot one, or the comparison proves little.
    const auto market = ev::evaluate_market(c.distances, ev::Labels{c.query_pids, c.query_camids},
                                            ev::Labels{c.gallery_pids, c.gallery_camids},
                                            shape.max_rank);
    CHECK(m.cmc != market.cmc);
    CHECK(m.mAP == market.mAP);
  }
}

TEST_CASE("single-gallery-shot draws depend on the seed only, not on the thread count") {
  const auto c = random_case(60, 300, 40, 5);
  const auto parallel = single_shot(c, 20, {10, 3});
  const auto serial = [&] {
    tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);
    return single_shot(c, 20, {10, 3});
  }();
  CHECK(parallel.cmc == serial.cmc);
  CHECK(single_shot(c, 20, {10, 4}).cmc != parallel.cmc);
  CHECK_THROWS_AS(single_shot(c, 20, {0, 3}), std::invalid_argument);
}

TEST_CASE("single-gallery-shot on a hand-worked case") {
  // Query pid 1, cam 0. Gallery: g0 pid 2 (.1), g1 pid 1 cam 1 (.2), g2 pid 2 (.3),
  // g3 pid 1 cam 0 (.05, removed). Identity 2 draws g0 or g2; the match is g1 always.
  // g0 drawn -> match 2nd; g2 drawn -> match 1st. With many repeats rank-1 is the fraction
  // of repeats that drew g2, which single_shot_draw decides.
  const std::vector<float> distances = {0.1f, 0.2f, 0.3f, 0.05f};
  const Ids qp = {1}, qc = {0}, gp = {2, 1, 2, 1}, gc = {0, 1, 1, 0};
  const int repeats = 40;
  int drew_g2 = 0;
  for (int r = 0; r < repeats; ++r)
    drew_g2 += ev::single_shot_draw(9, 0, static_cast<std::uint64_t>(r), 2) % 2 == 1 ? 1 : 0;
  const auto m = ev::evaluate_single_shot(distances, ev::Labels{qp, qc}, ev::Labels{gp, gc}, 3,
                                          {repeats, 9});
  CHECK(m.cmc[0] == doctest::Approx(static_cast<double>(drew_g2) / repeats));
  CHECK(m.cmc[1] == 1.0);
  CHECK(m.cmc[2] == 1.0);  // padded: only two identities
  CHECK(drew_g2 > 0);
  CHECK(drew_g2 < repeats);
  CHECK(m.mAP == 0.5);  // AP on the whole kept gallery: match 2nd of g0 g1 g2
}
