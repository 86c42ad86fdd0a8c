// The seed's evaluation details fgreid reproduces without LibTorch: the frame numbers its st-ReID
// generators read from CUHK03 and VRIC names, evaluate_videos.py's sampled test clips, and the
// ROC (fast-reid's TEST.ROC) checked against numpy.
#include <fgreid/datasets/layout.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/roc.hpp>
#include <fgreid/samplers/video_pk.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reference.hpp"

#include <fstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
namespace sm = fgreid::samplers;

}  // namespace

TEST_CASE("frame numbers are read from image names as the seed's st-ReID generators read them") {
  const std::vector<std::string> names = {
      "1_001_1_01.png", "5_120_2_10.png",          // CUHK03 (generate_seq_cuhk03.py: skip 0)
      "0001_01_00_fr00042.jpg", "MVI_40213_img00166.jpg", "a_b_c_xyz7.jpg",  // VRIC: skip 3
      "no_number_here.jpg", "0001_02_03.jpg", "plain", "x_12ab.png", "x_.png"};
  // tools/generate_seq_cuhk03.py and generate_seq_vric.py, verbatim but for the error case.
  const std::string script = R"(
import json, sys
names = json.load(open(sys.argv[1] + "/names.json"))
def frame(name, skip):
    try:
        return int(name.split("_")[-1].split(".")[0][skip:])
    except ValueError:
        return None
print(json.dumps({str(skip): [frame(n, skip) for n in names] for skip in (0, 3)}))
)";
  fgreid::test::TempDir dir;
  std::ofstream(dir / "names.json") << json(names).dump();
  const auto reference = fgreid::test::run_python_reference(script, dir);
  for (const std::size_t skip : {0u, 3u})
    for (std::size_t i = 0; i < names.size(); ++i) {
      CAPTURE(names[i]);
      CAPTURE(skip);
      const auto& expected = reference[std::to_string(skip)][i];
      CHECK(fgreid::datasets::seed_name_frame(names[i], skip) == (expected.is_null() ? -1 : expected.get<std::int64_t>()));
    }
  CHECK(fgreid::datasets::seed_name_frame("1_001_1_07.png") == 7);
  CHECK(fgreid::datasets::seed_name_frame("0001_01_00_fr00042.jpg", 3) == 42);
}

TEST_CASE("sampled test clips are evaluate_videos.py's VideoDataset 'test' plan") {
  // C++ draws the frames; the seed's code (tools/video_loader.py, sample='test'), verbatim but
  // for the images, runs with random.sample answering with those draws after checking that
  // each is a subset of the right size of the population the seed samples from.
  json cases;
  for (const std::size_t num : {1u, 3u, 7u, 31u, 32u, 33u, 40u, 41u, 64u, 79u, 80u, 81u, 150u, 403u})
    for (const std::size_t seq_len : {1u, 3u, 4u, 5u})
      for (const std::size_t max_length : {32u, 40u})
        for (const std::uint64_t seed : {1u, 2u}) {
          const auto frames = sm::sampled_test_frames(num, max_length, seed);
          cases.push_back({{"num", num}, {"seq_len", seq_len}, {"max_length", max_length},
                           {"frames", frames}, {"clips", sm::clips_of_frames(frames, seq_len)}});
        }
  const std::string script = R"(
import json, random, sys
cases = json.load(open(sys.argv[1] + "/cases.json"))
def seed_test(num, seq_len, max_length, sample):
    indices = []
    frame_indices = [i for i in range(num)]
    each = num//max_length
    if each > 0:
        x = max_length * (each + 1) - num
        y = num - max_length * (each)
        ind1 = sorted(sample(frame_indices[:each* x], x) )
        ind2 = sorted(sample(frame_indices[each* x : ], y))
        indices = ind1 + ind2
    else:
        indices = frame_indices
    if len(indices) % seq_len != 0 :
        left = len(indices) % seq_len
        last_seq = indices[-left:]
        for index in last_seq:
            if len(last_seq) >= seq_len:
                break
            last_seq.append(index)
        indices = indices + last_seq
    clips = []
    curr = -1
    for i in range(len(indices) // seq_len):
        imgs = []
        for i in range(seq_len):
            curr +=1
            imgs.append(indices[curr])
        clips.append(imgs)
    return clips
out = []
for case in cases:
    drawn = list(case["frames"])
    def sample(population, k):
        global drawn
        part, drawn = drawn[:k], drawn[k:]
        assert len(part) == k and set(part) <= set(population), (case, population, k, part)
        random.shuffle(part)
        return part
    out.append(seed_test(case["num"], case["seq_len"], case["max_length"], sample))
print(json.dumps(out))
)";
  fgreid::test::TempDir dir;
  std::ofstream(dir / "cases.json") << cases.dump();
  const auto reference = fgreid::test::run_python_reference(script, dir);
  REQUIRE(reference.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].dump());
    CHECK(cases[i]["clips"] == reference[i]);
    const auto num = cases[i]["num"].get<std::size_t>(), max_length = cases[i]["max_length"].get<std::size_t>();
    CHECK(cases[i]["frames"].size() == std::min(num, max_length));  // x + y = max_length
  }
  // The draw is a function of the seed: the same frames at every evaluation.
  CHECK(sm::sampled_test_frames(403, 32, 7) == sm::sampled_test_frames(403, 32, 7));
  CHECK(sm::sampled_test_frames(403, 32, 7) != sm::sampled_test_frames(403, 32, 8));
}

TEST_CASE("--test-sampling sampled plans the same clips for a tracklet at every call") {
  sm::ClipOptions options{.seq_len = 4, .test_sampling = sm::TestSampling::sampled, .max_test_frames = 32};
  const auto plan = sm::plan_test_clips(options);
  fgreid::datasets::Entry tracklet{.images = {}, .pid = 1, .camid = 0, .frame = -1};
  for (int i = 0; i < 100; ++i) tracklet.images.push_back(fmt::format("t/0001C1T0001F{:03d}.jpg", i));
  const auto clips = plan(tracklet);
  CHECK(clips.size() == 8);  // 32 frames of the 100, 8 clips of 4
  CHECK(clips == plan(tracklet));
  options.max_test_frames = 0;
  CHECK_THROWS_WITH_AS(sm::check_clip_options(options), doctest::Contains("--max-test-frames 0"), fgreid::UsageError);
}

TEST_CASE("the ROC and its TPR at fixed FPR agree with numpy") {
  const auto c = fgreid::test::random_ranking_case(80, 400, 60, 0, 3, 17);
  const fgreid::eval::Labels query{c.query_pids, c.query_camids}, gallery{c.gallery_pids, c.gallery_camids};
  const auto roc = fgreid::eval::roc_curve(c.distances, query, gallery);
  const std::vector<double> rates = {1e-4, 1e-3, 1e-2, 0.05, 0.3, 1.0};
  const std::string script = R"(
import json, sys
import numpy as np
from torchreid_reference import read_case
meta, d, (qp, gp, qc, gc) = read_case(sys.argv[1])
same = qp[:, None] == gp[None, :]
keep = ~(same & (qc[:, None] == gc[None, :]))
genuine, impostor = np.sort(d[keep & same]), np.sort(d[keep & ~same])
thresholds = np.unique(np.concatenate([genuine, impostor]))
fpr = np.concatenate([[0.0], np.searchsorted(impostor, thresholds, side="right") / len(impostor)])
tpr = np.concatenate([[0.0], np.searchsorted(genuine, thresholds, side="right") / len(genuine)])
print(json.dumps({"tpr": [float(tpr[fpr <= r].max()) for r in meta["rates"]],
                  "auc": float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)),
                  "genuine": int(len(genuine)), "impostor": int(len(impostor))}))
)";
  fgreid::test::TempDir dir;
  fgreid::test::write_ranking_case(dir, c, {{"rates", rates}});
  const auto reference = fgreid::test::run_python_reference(script, dir);
  CHECK(roc.genuine_pairs == reference["genuine"].get<std::size_t>());
  CHECK(roc.impostor_pairs == reference["impostor"].get<std::size_t>());
  for (std::size_t i = 0; i < rates.size(); ++i) {
    CAPTURE(rates[i]);
    CHECK(fgreid::eval::tpr_at_fpr(roc, rates[i]) == doctest::Approx(reference["tpr"][i].get<double>()).epsilon(1e-12));
  }
  const auto json = fgreid::eval::to_json(roc);
  CHECK(json["auc"].get<double>() == doctest::Approx(reference["auc"].get<double>()).epsilon(1e-9));
  CHECK(json.contains("TPR@FPR=1e-03"));
  fgreid::eval::write_roc_plot(dir / "roc.png", roc, "test");
  CHECK(std::filesystem::file_size(dir / "roc.png") > 1000);
  // No impostor pair: no ROC, said so.
  const std::vector<std::int64_t> one{1}, cam0{0}, cam1{1};
  const std::vector<float> d{0.5f};
  CHECK_THROWS_WITH_AS((void)fgreid::eval::roc_curve(d, {one, cam0}, {one, cam1}), doctest::Contains("0 impostor"),
                       std::invalid_argument);
}
