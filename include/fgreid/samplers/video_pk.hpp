#pragma once
// Video training batches: P identities × K tracklets, and from each tracklet a clip of
// --seq-len frames; at test time, every clip of a tracklet (features averaged by the engine).
//
//   using Sampler = samplers::VideoPK<8, 4, 4>;   // the seed's Video.py: 8 ids × 4 tracklets × 4 frames
#include <fgreid/datasets/splits.hpp>
#include <fgreid/options.hpp>
#include <fgreid/samplers/concept.hpp>
#include <fgreid/samplers/options.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string_view>
#include <vector>

namespace fgreid::samplers {

/// Frame indices (into the tracklet) of one training clip of `seq_len` frames, from `seed`
/// (mt19937_64, raw output only, so the same on every platform).
[[nodiscard]] std::vector<std::size_t> training_clip(std::size_t frames, std::size_t seq_len,
                                                     ClipSampling sampling, std::uint64_t seed);

/// Every clip of a tracklet of `frames` frames, as the seed tests (VideoDataset 'dense'):
/// consecutive runs of `seq_len` frames; the last run, when shorter, is completed by repeating
/// its own frames in order ([8, 9] → [8, 9, 8, 9]); at most `max_clips` clips, the first ones
/// (the seed keeps 33 for MARS and 41 elsewhere).
[[nodiscard]] std::vector<std::vector<std::size_t>> test_clips(std::size_t frames, std::size_t seq_len,
                                                               std::size_t max_clips);

/// The frames evaluate_videos.py tests of a tracklet of `frames` frames (VideoDataset 'test'):
/// all of them when fewer than `max_frames`; otherwise, with e = frames / max_frames,
/// x = max_frames·(e + 1) − frames drawn from the first e·x frames and the other
/// frames − max_frames·e from the rest, each part in order (from `seed`, mt19937_64).
[[nodiscard]] std::vector<std::size_t> sampled_test_frames(std::size_t frames, std::size_t max_frames,
                                                           std::uint64_t seed);

/// evaluate_videos.py's clips of chosen `frames`: runs of `seq_len` in order; when the count is
/// not a multiple, its last `left` frames are cycled to a full clip and appended, as the seed's
/// `indices + last_seq` does ([0..9], seq_len 4 → [0..3], [4..7], [8, 9, 8, 9]).
[[nodiscard]] std::vector<std::vector<std::size_t>> clips_of_frames(std::vector<std::size_t> frames,
                                                                    std::size_t seq_len);

/// Throws UsageError for a clip length, test clip count or test frame count below 1.
void check_clip_options(const ClipOptions& clips);

/// The test clips of `clips.test_sampling` (test_clips or sampled_test_frames + clips_of_frames).
[[nodiscard]] ClipPlan plan_test_clips(const ClipOptions& clips);

/// The seed's RandomIdentitySampler (tools/samplers.py): each epoch visits every identity once,
/// in a random order, with K of its tracklets (drawn with replacement only when it has fewer);
/// P consecutive identities make a batch and the last partial batch is dropped.
class IdentityTracklets {
 public:
  IdentityTracklets(std::span<const std::int64_t> labels, int batch_p, int batch_k);
  void reset(std::uint64_t seed);
  std::optional<std::vector<std::int64_t>> next();
  [[nodiscard]] std::int64_t batches_per_epoch() const;

 private:
  int batch_p_, batch_k_;
  std::vector<std::vector<std::int64_t>> by_identity_;
  std::vector<std::int64_t> epoch_;
  std::size_t next_ = 0;
};

/// Video sampler policy: batches of P identities × K tracklets (IdentityTracklets), a training
/// clip of `seq_len` frames per tracklet, and the test clips. The defaults are compile-time:
/// `VideoPK<8, 4, 4>` is the seed's 32 tracklets of 4 frames.
template <int P, int K, int SeqLen, ClipSampling Sampling = ClipSampling::chunks, int MaxTestClips = 41>
class VideoPK {
  static_assert(P >= 2 && K >= 1 && SeqLen >= 1 && MaxTestClips >= 1);

 public:
  static constexpr std::string_view name =
      "sampler (P identities x K tracklets, clips of seq-len frames)";

  struct Options {
    /// P identities × K tracklets (--batch-p, --batch-k).
    BatchOptions batch{.batch_p = P, .batch_k = K};
    /// The clips of a tracklet (--seq-len, --clip-sampling, --max-test-clips, --test-sampling, --max-test-frames).
    ClipOptions clips{.seq_len = SeqLen, .clip_sampling = Sampling, .max_test_clips = MaxTestClips};
    FGREID_REFLECT(Options, batch, clips);
  };

  VideoPK(std::span<const std::int64_t> labels, Options options)
      : options_(check(options)), sampler_(labels, options.batch.batch_p, options.batch.batch_k) {}
  void reset(std::uint64_t seed) { sampler_.reset(seed); }
  std::optional<std::vector<std::int64_t>> next() { return sampler_.next(); }
  [[nodiscard]] std::int64_t batches_per_epoch() const { return sampler_.batches_per_epoch(); }

  /// The training clip of a tracklet from a seed (the loader's data::FrameChooser).
  [[nodiscard]] FrameChooser clip_chooser() const {
    const auto seq_len = static_cast<std::size_t>(options_.clips.seq_len);
    const auto sampling = options_.clips.clip_sampling;
    return [seq_len, sampling](const datasets::Entry& entry, std::uint64_t seed) {
      return training_clip(entry.images.size(), seq_len, sampling, seed);
    };
  }

  /// The test clips of a tracklet (sampled: the same frames at every evaluation, drawn from a
  /// seed of the tracklet's first image name).
  [[nodiscard]] ClipPlan test_clip_plan() const { return plan_test_clips(options_.clips); }

 private:
  static Options check(const Options& options);

  Options options_;
  IdentityTracklets sampler_;
};

template <int P, int K, int SeqLen, ClipSampling Sampling, int MaxTestClips>
auto VideoPK<P, K, SeqLen, Sampling, MaxTestClips>::check(const Options& options) -> Options {
  check_clip_options(options.clips);
  return options;
}

}  // namespace fgreid::samplers
