#include <fgreid/eval/metrics.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <tbb/global_control.h>

#include "support.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace ev = fgreid::eval;
using Ids = std::vector<std::int64_t>;

/// torchreid's eval_cuhk03, with np.random.choice replaced by the documented counter-based
/// draw (members of an identity in ascending gallery index) and the CMC padded with its last
/// value where there are fewer identities than max_rank.
constexpr const char* kReferenceScript = R"PY(
import json, sys
from collections import defaultdict
import numpy as np

M64 = (1 << 64) - 1
def mix(x):
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)
def draw(seed, q, r, pid):
    return mix(mix(mix(mix(seed) ^ q) ^ r) ^ (pid & M64))

folder = sys.argv[1]
meta = json.load(open(f"{folder}/meta.json"))
nq, ng, max_rank, repeats, seed = meta["nq"], meta["ng"], meta["max_rank"], meta["repeats"], meta["seed"]
distmat = np.fromfile(f"{folder}/distances.f32", dtype=np.float32).reshape(nq, ng)
q_pids = np.fromfile(f"{folder}/query_pids.i64", dtype=np.int64)
q_camids = np.fromfile(f"{folder}/query_camids.i64", dtype=np.int64)
g_pids = np.fromfile(f"{folder}/gallery_pids.i64", dtype=np.int64)
g_camids = np.fromfile(f"{folder}/gallery_camids.i64", dtype=np.int64)

indices = np.argsort(distmat, axis=1, kind="stable")
matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
all_cmc, all_AP = [], []
for q_idx in range(nq):
    q_pid, q_camid = q_pids[q_idx], q_camids[q_idx]
    order = indices[q_idx]
    remove = (g_pids[order] == q_pid) & (g_camids[order] == q_camid)
    keep = np.invert(remove)
    raw_cmc = matches[q_idx][keep]
    if not np.any(raw_cmc):
        continue
    kept_g_pids = g_pids[order][keep]
    kept_g_index = order[keep]
    g_pids_dict = defaultdict(list)
    for idx, pid in enumerate(kept_g_pids):
        g_pids_dict[pid].append(idx)
    cmc = np.zeros(max_rank)
    for repeat_idx in range(repeats):
        mask = np.zeros(len(raw_cmc), dtype=bool)
        for pid, idxs in g_pids_dict.items():
            members = sorted(idxs, key=lambda k: kept_g_index[k])  # ascending gallery index
            mask[members[draw(seed, q_idx, repeat_idx, int(pid)) % len(members)]] = True
        _cmc = raw_cmc[mask].cumsum()
        _cmc[_cmc > 1] = 1
        _cmc = _cmc[:max_rank]
        _cmc = np.pad(_cmc, (0, max_rank - len(_cmc)), mode="edge")
        cmc += _cmc
    all_cmc.append(cmc / repeats)
    num_rel = raw_cmc.sum()
    tmp_cmc = raw_cmc.cumsum()
    tmp_cmc = np.asarray([x / (i + 1.) for i, x in enumerate(tmp_cmc)]) * raw_cmc
    all_AP.append(tmp_cmc.sum() / num_rel)
print(json.dumps({"cmc": (np.sum(all_cmc, 0) / len(all_cmc)).tolist(),
                  "mAP": float(np.mean(all_AP)), "valid": len(all_cmc)}))
)PY";

template <typename T>
void write_binary(const std::filesystem::path& path, const std::vector<T>& values) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(values.data()),
             static_cast<std::streamsize>(values.size() * sizeof(T)));
}

struct Case {
  std::vector<float> distances;
  Ids query_pids, query_camids, gallery_pids, gallery_camids;
};

/// Distinct distances (a shuffled 0..Nq·Ng-1), pids with several images each.
Case random_case(std::size_t nq, std::size_t ng, int identities, std::uint32_t seed) {
  std::mt19937 random(seed);
  Case c;
  c.distances.resize(nq * ng);
  std::iota(c.distances.begin(), c.distances.end(), 0.0f);
  std::ranges::shuffle(c.distances, random);
  std::uniform_int_distribution<std::int64_t> pid(0, identities - 1), camid(0, 2);
  for (std::size_t q = 0; q < nq; ++q) {
    c.query_pids.push_back(pid(random));
    c.query_camids.push_back(camid(random));
  }
  for (std::size_t g = 0; g < ng; ++g) {
    c.gallery_pids.push_back(pid(random));
    c.gallery_camids.push_back(camid(random));
  }
  return c;
}

ev::Metrics single_shot(const Case& c, int max_rank, ev::SingleShotOptions options) {
  return ev::evaluate_single_shot(c.distances, ev::Labels{c.query_pids, c.query_camids},
                                  ev::Labels{c.gallery_pids, c.gallery_camids}, max_rank,
                                  options);
}

nlohmann::json reference(const Case& c, int max_rank, ev::SingleShotOptions options) {
  fgreid::test::TempDir folder;
  write_binary(folder / "distances.f32", c.distances);
  write_binary(folder / "query_pids.i64", c.query_pids);
  write_binary(folder / "query_camids.i64", c.query_camids);
  write_binary(folder / "gallery_pids.i64", c.gallery_pids);
  write_binary(folder / "gallery_camids.i64", c.gallery_camids);
  std::ofstream(folder / "meta.json") << nlohmann::json{{"nq", c.query_pids.size()},
                                                        {"ng", c.gallery_pids.size()},
                                                        {"max_rank", max_rank},
                                                        {"repeats", options.repeats},
                                                        {"seed", options.seed}}
                                             .dump();
  std::ofstream(folder / "reference.py") << kReferenceScript;
  const auto result = fgreid::test::run_command(std::string(FGREID_PYTHON) + " " +
                                                (folder / "reference.py").string() + " " +
                                                folder.path().string());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(fgreid::test::last_line(result.out));
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
