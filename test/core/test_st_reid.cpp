#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/st_reid.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "reference.hpp"

#include <cmath>
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

/// Runs `script` on `input`, which it reads from its argument's input.json.
nlohmann::json run_python(const std::string& script, const nlohmann::json& input) {
  fgreid::test::TempDir folder;
  std::ofstream(folder / "input.json") << input.dump();
  return fgreid::test::run_python_reference(script, folder);
}

/// The seed's gauss_smooth2 and load_distribution's renormalisation, verbatim but for I/O.
constexpr const char* kSmoothScript = R"PY(
import json, math, sys
import numpy as np

def gaussian_func2(x, u, o=50):
    temp1 = 1.0 / (o * math.sqrt(2 * math.pi))
    temp2 = -(np.power(x - u, 2)) / (2 * np.power(o, 2))
    return temp1 * np.exp(temp2)

def gauss_smooth2(arr, o):
    hist_num = len(arr)
    vect = np.zeros((hist_num, 1))
    for i in range(hist_num):
        vect[i, 0] = i
    approximate_delta = 3 * o
    gaussian_vect = gaussian_func2(vect, 0, o)
    matrix = np.zeros((hist_num, hist_num))
    for i in range(hist_num):
        k = 0
        for j in range(i, hist_num):
            if k > approximate_delta:
                continue
            matrix[i][j] = gaussian_vect[j - i, 0]  # numpy 2 refuses a 1-element array here
            k = k + 1
    matrix = matrix + matrix.transpose()
    for i in range(hist_num):
        matrix[i][i] = matrix[i][i] / 2
    return np.dot(matrix, arr)

data = json.load(open(f"{sys.argv[1]}/input.json"))
out = []
for h in data["histograms"]:
    s = gauss_smooth2(np.asarray(h, dtype=np.float64), data["sigma"])
    out.append((s / (np.sum(s) + 0.0000001)).tolist())
print(json.dumps(out))
)PY";

/// The seed's image_eval.evaluate + compute_mAP + eval's averaging, on a distance matrix.
constexpr const char* kSeedEvalScript = R"PY(
import json, sys
import numpy as np

def compute_mAP(index, good_index, junk_index):
    ap = 0
    cmc = np.zeros(len(index), dtype=np.int64)
    if good_index.size == 0:
        cmc[0] = -1
        return ap, cmc
    mask = np.isin(index, junk_index, invert=True)
    index = index[mask]
    ngood = len(good_index)
    mask = np.isin(index, good_index)
    rows_good = np.argwhere(mask == True).flatten()
    cmc[rows_good[0]:] = 1
    for i in range(ngood):
        d_recall = 1.0 / ngood
        precision = (i + 1) * 1.0 / (rows_good[i] + 1)
        old_precision = i * 1.0 / rows_good[i] if rows_good[i] != 0 else 1.0
        ap = ap + d_recall * (old_precision + precision) / 2
    return ap, cmc

d = json.load(open(f"{sys.argv[1]}/input.json"))
nq, ng = len(d["qp"]), len(d["gp"])
dist = np.asarray(d["distances"], dtype=np.float32).reshape(nq, ng)
gl, gc = np.asarray(d["gp"]), np.asarray(d["gc"])
CMC = np.zeros(ng)
ap = 0.0
for i in range(nq):
    index = np.argsort(dist[i], kind="stable")
    query_index = np.argwhere(gl == d["qp"][i])
    camera_index = np.argwhere(gc == d["qc"][i])
    good_index = np.setdiff1d(query_index, camera_index, assume_unique=True)
    junk_index = np.append(np.intersect1d(query_index, camera_index), np.argwhere(gl == -1))
    ap_tmp, CMC_tmp = compute_mAP(index, good_index, junk_index)
    if CMC_tmp[0] == -1:
        continue
    CMC = CMC + CMC_tmp
    ap += ap_tmp
print(json.dumps({"cmc": (CMC / nq).tolist(), "mAP": ap / nq}))
)PY";

}  // namespace

TEST_CASE("st histograms count each identity's mean-frame difference per camera pair") {
  // Identity 7: camera 0 at frames 100 and 300 (mean 200), camera 2 at 950 -> Δ 750, bin 7 of
  // [2][0]. Identity 9: camera 1 at 1000, camera 0 at 20 -> Δ 980, bin 9 of [1][0]; camera 1
  // alone would add nothing. Identity 4 only camera 2: nothing.
  const Ids pids = {7, 7, 7, 9, 9, 4};
  const Ids camids = {0, 0, 2, 1, 0, 2};
  const Ids frames = {100, 300, 950, 1000, 20, 5};
  ev::StReidOptions options;
  options.st_bins = 20;
  options.st_smoothing = 0;
  const auto model = ev::StModel::fit(pids, {camids, frames}, options);
  CHECK(model.cameras() == 3);
  const auto h20 = model.histogram(2, 0);
  CHECK(h20[7] == doctest::Approx(1 / (1 + 1e-7)));
  CHECK(std::accumulate(h20.begin(), h20.end(), 0.0) == doctest::Approx(1.0));
  CHECK(model.histogram(1, 0)[9] == doctest::Approx(1.0));
  CHECK(model.histogram(0, 2)[7] == 0.0);  // direction matters: [later][earlier]
  const auto h21 = model.histogram(2, 1);
  CHECK(std::accumulate(h21.begin(), h21.end(), 0.0) == 0.0);

  // Lookup: camera 2 at 1000, camera 0 at 260 -> Δ 740 -> [2][0] bin 7, either argument order.
  CHECK(model.probability(2, 1000, 0, 260) == doctest::Approx(1.0));
  CHECK(model.probability(0, 260, 2, 1000) == doctest::Approx(1.0));
  CHECK(model.probability(0, 1000, 2, 260) == 0.0);   // camera 0 later: [0][2] is empty
  CHECK(model.probability(2, 5000, 0, 0) == 0.0);     // past the last bin
  CHECK(model.probability(5, 10, 0, 0) == 0.0);       // a camera never seen in training
  CHECK(model.probability(0, 10, 0, 30) == 0.0);      // same camera: no histogram
}

TEST_CASE("st smoothing equals the seed's gauss_smooth2 and renormalisation") {
  std::mt19937 random(3);
  std::uniform_int_distribution<std::int64_t> frame(0, 40000), camid(0, 2);
  Ids pids, camids, frames;
  for (std::int64_t id = 0; id < 60; ++id)
    for (int image = 0; image < 4; ++image) {
      pids.push_back(id);
      camids.push_back(camid(random));
      frames.push_back(frame(random));
    }
  ev::StReidOptions raw;
  raw.st_bins = 500;
  raw.st_smoothing = 0;
  ev::StReidOptions smoothed = raw;
  smoothed.st_smoothing = 20;
  const auto before = ev::StModel::fit(pids, {camids, frames}, raw);
  const auto after = ev::StModel::fit(pids, {camids, frames}, smoothed);
  nlohmann::json histograms = nlohmann::json::array();
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      const auto h = before.histogram(a, b);
      histograms.push_back(std::vector<double>(h.begin(), h.end()));
    }
  const auto expected = run_python(kSmoothScript, {{"histograms", histograms}, {"sigma", 20}});
  int compared = 0;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      const auto want = expected[static_cast<std::size_t>(a * 3 + b)].get<std::vector<double>>();
      const auto got = after.histogram(a, b);
      for (std::size_t k = 0; k < want.size(); ++k) {
        CHECK(got[k] == doctest::Approx(want[k]).epsilon(1e-9).scale(1e-12));
        compared += want[k] > 0 ? 1 : 0;
      }
    }
  CHECK(compared > 500);  // the smoothing spread mass over many bins
}

TEST_CASE("the joint score is the product of the two logistic functions") {
  const ev::StReidOptions options;  // λv 1, γv 5, λst 2, γst 5
  CHECK(ev::st_joint_score(0.5, 0.2, options) ==
        doctest::Approx(1 / (1 + std::exp(-2.5)) * 1 / (1 + 2 * std::exp(-1.0))));
  CHECK(ev::st_joint_score(0.5, 0.0, options) == doctest::Approx(1 / (1 + std::exp(-2.5)) / 3));
  ev::StReidOptions other;
  other.st_visual_lambda = 3;
  other.st_gamma = 1;
  CHECK(ev::st_joint_score(-0.2, 0.7, other) ==
        doctest::Approx(1 / (1 + 3 * std::exp(1.0)) * 1 / (1 + 2 * std::exp(-0.7))));
}

TEST_CASE("the seed protocol equals the seed's compute_mAP averaged over all queries") {
  std::mt19937 random(11);
  const std::size_t nq = 40, ng = 200;
  std::vector<float> distances(nq * ng);
  std::iota(distances.begin(), distances.end(), 0.0f);
  std::ranges::shuffle(distances, random);
  std::uniform_int_distribution<std::int64_t> pid(-1, 30), camid(0, 3);
  Ids qp, qc, gp, gc;
  for (std::size_t q = 0; q < nq; ++q) {
    qp.push_back(pid(random) + 1);  // query pids 0..31; some absent from the gallery
    qc.push_back(camid(random));
  }
  for (std::size_t g = 0; g < ng; ++g) {
    gp.push_back(pid(random));  // includes junk -1
    gc.push_back(camid(random));
  }
  const auto m = ev::evaluate_seed(distances, {qp, qc}, {gp, gc}, 50);
  const auto expected = run_python(
      kSeedEvalScript,
      {{"distances", distances}, {"qp", qp}, {"qc", qc}, {"gp", gp}, {"gc", gc}});
  CHECK(m.valid_queries < static_cast<std::int64_t>(nq));  // some queries count as zeros
  CHECK(m.valid_queries > 0);
  CHECK(m.mAP == doctest::Approx(expected["mAP"].get<double>()).epsilon(1e-9));
  const auto cmc = expected["cmc"].get<std::vector<double>>();
  for (std::size_t k = 0; k < m.cmc.size(); ++k) {
    CAPTURE(k);
    CHECK(m.cmc[k] == doctest::Approx(cmc[k]).epsilon(1e-9));
  }
  // The protocols disagree on these data: the torchreid one averages over valid queries.
  const auto torchreid = ev::evaluate_protocol(ev::Protocol::torchreid, distances, {qp, qc},
                                               {gp, gc}, 50);
  CHECK(torchreid.mAP != doctest::Approx(m.mAP));
}

TEST_CASE("st fusion raises rank-1 over visual similarity alone when time carries signal") {
  // A walk through 4 cameras: camera c sees a person ~ 800·c frames after camera 0 (noise 150).
  // Visual similarity is weak (true pair +0.25 on N(0, 0.2) noise); time separates a person
  // from the others, who walk at other times. The seed's st logistic is gentle (p is a
  // per-bin probability, ~0.01), so the gain is moderate.
  std::mt19937 random(5);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_real_distribution<double> start(0, 200000);
  auto walk = [&](std::int64_t count, Ids& pids, Ids& camids, Ids& frames) {
    std::vector<double> starts;
    for (std::int64_t id = 0; id < count; ++id) {
      starts.push_back(start(random));
      for (std::int64_t camera = 0; camera < 4; ++camera) {
        pids.push_back(id);
        camids.push_back(camera);
        frames.push_back(static_cast<std::int64_t>(starts.back() + 800.0 * camera +
                                                   150 * noise(random)));
      }
    }
    return starts;
  };
  Ids train_pids, train_camids, train_frames;
  walk(300, train_pids, train_camids, train_frames);
  const auto model = ev::StModel::fit(train_pids, {train_camids, train_frames}, {});

  // Test: each identity's camera-0 image is the query, its other images the gallery.
  Ids all_pids, all_camids, all_frames;
  walk(200, all_pids, all_camids, all_frames);
  Ids qp, qc, qf, gp, gc, gf;
  for (std::size_t k = 0; k < all_pids.size(); ++k) {
    const bool is_query = all_camids[k] == 0;
    (is_query ? qp : gp).push_back(all_pids[k]);
    (is_query ? qc : gc).push_back(all_camids[k]);
    (is_query ? qf : gf).push_back(all_frames[k]);
  }
  std::vector<float> similarity(qp.size() * gp.size());
  for (std::size_t q = 0; q < qp.size(); ++q)
    for (std::size_t g = 0; g < gp.size(); ++g)
      similarity[q * gp.size() + g] =
          static_cast<float>(0.2 * noise(random) + (qp[q] == gp[g] ? 0.25 : 0.0));
  auto distances_of = [](const std::vector<float>& scores) {
    std::vector<float> distances(scores.size());
    for (std::size_t k = 0; k < scores.size(); ++k) distances[k] = -scores[k];
    return distances;
  };
  const ev::StReidOptions options;
  const auto fused = ev::st_fuse(similarity, {qc, qf}, {gc, gf}, model, options);
  const auto visual = ev::evaluate_market(distances_of(similarity), {qp, qc}, {gp, gc}, 10);
  const auto joint = ev::evaluate_market(distances_of(fused), {qp, qc}, {gp, gc}, 10);
  CAPTURE(visual.cmc[0]);
  CAPTURE(joint.cmc[0]);
  CHECK(visual.cmc[0] < 0.5);
  CHECK(joint.cmc[0] > visual.cmc[0] + 0.1);
  CHECK(joint.mAP > visual.mAP + 0.04);
  // Each fused score is the logistic product of its parts.
  CHECK(fused[3] == doctest::Approx(ev::st_joint_score(
                        similarity[3], model.probability(qc[0], qf[0], gc[3], gf[3]), options))
                        .epsilon(1e-6));
}

TEST_CASE("st-ReID refuses sizes that do not fit") {
  const Ids one = {1};
  CHECK_THROWS_AS(ev::StModel::fit(one, {Ids{1, 2}, one}, {}), std::invalid_argument);
  CHECK_THROWS_AS(ev::StModel::fit(one, {Ids{-1}, one}, {}), std::invalid_argument);
  const auto model = ev::StModel::fit(one, {one, one}, {});
  CHECK_THROWS_AS(ev::st_fuse(std::vector<float>(3), {one, one}, {one, one}, model, {}),
                  std::invalid_argument);
}
