// The video sampler (samplers::VideoPK): its training clips, the seed's dense test clips, and
// its P identities × K tracklets (IdentityTracklets). (What every sampler must do,
// test_policy_contracts.cpp checks.)
#include <fgreid/datasets/splits.hpp>
#include <fgreid/error.hpp>
#include <fgreid/samplers/video_pk.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "reference.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

static_assert(fgreid::VideoSampler<fgreid::samplers::VideoPK<2, 3, 4>>);

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
namespace sm = fgreid::samplers;
using nlohmann::json;

}  // namespace

TEST_CASE("training clips have seq-len frames: consecutive from the seed's range, or one per chunk") {
  for (std::size_t n : {1u, 2u, 3u, 4u, 5u, 6u, 9u, 37u}) {
    for (std::size_t len : {1u, 4u, 8u}) {
      CAPTURE(n);
      CAPTURE(len);
      std::set<std::size_t> starts;
      for (std::uint64_t seed = 0; seed < 1000; ++seed) {
        const auto clip = sm::training_clip(n, len, sm::ClipSampling::consecutive, seed);
        REQUIRE(clip.size() == len);
        starts.insert(clip.front());
        for (std::size_t t = 1; t < len; ++t) {
          if (clip[t - 1] + 1 < n) CHECK(clip[t] == clip[t - 1] + 1);  // consecutive ...
          else CHECK(clip[t] == n - 1);                                 // ... then the last repeated
        }
        CHECK(clip == sm::training_clip(n, len, sm::ClipSampling::consecutive, seed));  // from its seed
        const auto chunked = sm::training_clip(n, len, sm::ClipSampling::chunks, seed);
        REQUIRE(chunked.size() == len);
        const std::size_t chunk = std::max<std::size_t>(n / len, 1);
        for (std::size_t j = 0; j < len; ++j) {
          CHECK(chunked[j] >= std::min(j * chunk, n - 1));
          CHECK(chunked[j] <= (j + 1 < len ? std::min((j + 1) * chunk - 1, n - 1) : n - 1));
        }
      }
      // every start the seed allows is drawn, none beyond: [0, max(0, n - len - 1)]
      const std::size_t last = n > len + 1 ? n - len - 1 : 0;
      CHECK(starts.size() == last + 1);
      CHECK(*starts.rbegin() == last);
    }
  }
}

TEST_CASE("test clips cover every frame as the seed's dense sampling does, capped at the first ones") {
  // the seed's VideoDataset 'dense' (tools/video_loader.py), verbatim but for the images
  const std::string script = R"(
import json
def dense(num, seq_len, max_length):
    cur_index=0
    frame_indices = [i for i in range(num)]
    indices_list=[]
    while num-cur_index > seq_len:
        indices_list.append(frame_indices[cur_index:cur_index+seq_len])
        cur_index+=seq_len
    last_seq=frame_indices[cur_index:]
    for index in last_seq:
        if len(last_seq) >= seq_len:
            break
        last_seq.append(index)
    indices_list.append(last_seq)
    out = []
    for indices in indices_list:
        if len(out) > max_length:
            break
        out.append(indices)
    return out
cases = {}
for num in list(range(1, 30)) + [163, 164, 165, 170, 400]:
    for seq_len in (1, 3, 4, 8):
        for max_length in (32, 40):
            cases["%d %d %d" % (num, seq_len, max_length)] = dense(num, seq_len, max_length)
print(json.dumps(cases))
)";
  fgreid::test::TempDir dir;
  const auto reference = fgreid::test::run_python_reference(script, dir);
  REQUIRE(reference.size() == 34 * 4 * 2);
  for (const auto& [key, clips] : reference.items()) {
    CAPTURE(key);
    std::size_t num = 0, seq_len = 0, max_length = 0;
    std::istringstream(key) >> num >> seq_len >> max_length;
    const auto ours = sm::test_clips(num, seq_len, max_length + 1);  // the seed keeps max_length + 1
    CHECK(json(ours) == clips);
    std::set<std::size_t> covered;
    for (const auto& clip : ours) {
      CHECK(clip.size() == seq_len);
      covered.insert(clip.begin(), clip.end());
    }
    if (ours.size() <= max_length) CHECK(covered.size() == num);  // uncapped: every frame
  }
}

TEST_CASE("the video sampler visits each identity once per epoch with K tracklets") {
  // identities 0..4 with 1, 2, 4, 6 and 3 tracklets
  const std::vector<std::int64_t> labels{0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4};
  sm::VideoPK<2, 3, 4> sampler(labels, {});
  CHECK(sampler.batches_per_epoch() == 2);  // 5 identities / P = 2, the last one dropped
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    sampler.reset(seed);
    std::vector<std::vector<std::int64_t>> batches;
    while (auto batch = sampler.next()) batches.push_back(*batch);
    REQUIRE(batches.size() == 2);
    std::set<std::int64_t> seen;
    for (const auto& batch : batches) {
      REQUIRE(batch.size() == 6);
      for (std::size_t g = 0; g < 2; ++g) {
        const auto pid = labels[static_cast<std::size_t>(batch[g * 3])];
        CHECK(seen.insert(pid).second);  // once per epoch
        std::set<std::int64_t> tracklets;
        for (std::size_t k = 0; k < 3; ++k) {
          CHECK(labels[static_cast<std::size_t>(batch[g * 3 + k])] == pid);
          tracklets.insert(batch[g * 3 + k]);
        }
        const auto owned = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), pid));
        if (owned >= 3) CHECK(tracklets.size() == 3);  // distinct when it can
        else CHECK(tracklets.size() <= owned);         // else drawn with replacement
      }
    }
    sm::VideoPK<2, 3, 4> twin(labels, {});
    twin.reset(seed);
    CHECK(twin.next() == batches.front());  // reproducible
  }
  const ds::Entry tracklet{.images = std::vector<fs::path>(10), .pid = 0, .camid = 0, .frame = -1};
  CHECK(sampler.clip_chooser()(tracklet, 5).size() == 4);
  CHECK(sampler.test_clip_plan()(tracklet).size() == 3);
  CHECK_THROWS_AS((sm::VideoPK<2, 3, 4>(labels, {.batch = {.batch_p = 2, .batch_k = 3}, .clips = {.seq_len = 0}})), fgreid::UsageError);
}
