#pragma once
// The Options groups that samplers share, so that a recipe's defaults can set a batch or a
// clip length through the sampler concepts (samplers/concept.hpp) without knowing the sampler.
#include <fgreid/datasets/splits.hpp>
#include <fgreid/enum_names.hpp>
#include <fgreid/options.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace fgreid::samplers {

/// A batch of P identities × K samples of each (images, or tracklets for video).
struct BatchOptions {
  /// Identities per batch (P; the seed's --train-batch).
  int batch_p = 16;
  /// Samples per identity in a batch (K: images, or tracklets of a video dataset; the seed's --seq-len for images, --num-instances for video).
  int batch_k = 4;
  FGREID_REFLECT(BatchOptions, batch_p, batch_k);
};

/// How a training clip is drawn from a tracklet of n frames.
enum class ClipSampling {
  /// seq_len consecutive frames from a random start (tools/video_loader.py VideoDataset
  /// 'random', torchreid's old loader): start uniform in [0, max(0, n − seq_len − 1)], a short
  /// tracklet repeats its last frame.
  consecutive,
  /// Frame j drawn uniformly from the j-th of seq_len chunks of max(n / seq_len, 1) frames (the
  /// last chunk runs to the end): what the seed's Video.py trains with (VideoDataset_inderase).
  chunks,
};

/// Which clips of a tracklet are tested.
enum class TestSampling {
  /// Every clip in order, at most --max-test-clips (Video.py's test, VideoDataset 'dense').
  dense,
  /// evaluate_videos.py's (VideoDataset 'test'): --max-test-frames frames drawn from a longer
  /// tracklet, in order, cut into clips of seq-len.
  sampled,
};

/// The clips a video sampler cuts from tracklets, in training and at test time.
struct ClipOptions {
  /// Frames per clip, in training and at test time (the seed's --seq-len).
  int seq_len = 4;
  /// How a training clip is drawn: chunks (the seed's Video.py: frame j from the j-th of seq-len chunks) or consecutive (seq-len consecutive frames from a random start).
  ClipSampling clip_sampling = ClipSampling::chunks;
  /// Test time: at most this many clips per tracklet, the first ones (the seed: 33 for MARS, 41 otherwise); their features are averaged.
  int max_test_clips = 41;
  /// Test clips: dense (every clip in order, at most --max-test-clips) or sampled (evaluate_videos.py: --max-test-frames frames drawn in order).
  TestSampling test_sampling = TestSampling::dense;
  /// With --test-sampling sampled: frames kept of a longer tracklet (the seed's max_length: 32 for MARS, 40 otherwise).
  int max_test_frames = 40;
  FGREID_REFLECT(ClipOptions, seq_len, clip_sampling, max_test_clips, test_sampling, max_test_frames);
};

/// The frames (indices into Entry::images) of a tracklet's training clip, drawn from a seed.
using FrameChooser = std::function<std::vector<std::size_t>(const datasets::Entry&, std::uint64_t seed)>;

/// The test clips of a tracklet: each a list of indices into Entry::images, all of one length.
using ClipPlan = std::function<std::vector<std::vector<std::size_t>>(const datasets::Entry&)>;

}  // namespace fgreid::samplers

template <>
struct fgreid::EnumNames<fgreid::samplers::ClipSampling> {
  static constexpr std::array<std::string_view, 2> values{"consecutive", "chunks"};
};
template <>
struct fgreid::EnumNames<fgreid::samplers::TestSampling> {
  static constexpr std::array<std::string_view, 2> values{"dense", "sampled"};
};
