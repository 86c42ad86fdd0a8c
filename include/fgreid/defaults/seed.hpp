#pragma once
// The FGReID seed's training defaults (main_scripts/Image.py, Video.py,
// tools/dataset_config.conf), as recipe-defaults policies (defaults/concept.hpp).
#include <fgreid/data/transforms.hpp>
#include <fgreid/engine/settings.hpp>
#include <fgreid/samplers/concept.hpp>

namespace fgreid::defaults {

/// What the seed does to test features before measuring distances.
enum class TestFeatures {
  /// feat(x) + feat(flipped x), then L2-normalised (market, duke, veri, vric, cuhk03).
  flip_normalized,
  /// The model's feature as it is (cuhk01, grid, msmt17 and every other dataset Image.py does
  /// not name: its mode 3; vehicleid: mode 7; the video datasets).
  raw,
};

/// The seed's image recipes: Adam 3.5e-4, weight decay 5e-4, ten warm-up epochs from 0.01,
/// ×0.49725 at epochs 40 and 70, evaluation every 10 epochs from 60, 224×112 images, its
/// augmentation pipeline, test batches of 256, and the test features it uses for the dataset.
template <TestFeatures Features = TestFeatures::flip_normalized>
struct Seed {
  static void defaults(engine::Settings& settings) {
    settings.train.lr = 3.5e-4;
    settings.train.weight_decay = 5e-4;
    settings.train.warmup_epochs = 10;
    settings.train.warmup_factor = 0.01;
    settings.train.milestones = {40, 70};
    settings.train.gamma = 0.4972545632405633;
    settings.train.max_epoch = 500;
    settings.train.eval_start = 60;
    settings.train.eval_every = 10;
    settings.data.height = 224;
    settings.data.width = 112;
    settings.data.test_batch = 256;
    settings.data.augment = data::seed_pipeline();
    settings.eval.flip_test = Features == TestFeatures::flip_normalized;
    settings.eval.normalize_features = Features == TestFeatures::flip_normalized;
  }

  /// The seed's sampler makes an epoch one pass over the identities (a few batches on the
  /// synthetic data), so the profile counts more, shorter epochs than Experiment's: 30 epochs
  /// of 6 batches of 16 × 4 are the 11520 images of the baseline's 12 epochs.
  template <class Config>
  static void synthetic_profile(Config& config) {
    config.data.height = 96;
    config.data.width = 48;
    config.train.max_epoch = 30;
    config.train.warmup_epochs = 4;
    config.train.milestones = {20, 26};
    config.train.eval_start = 19;
    config.train.eval_every = 10;
    config.train.print_every = 6;
    // Half the seed's 32 identities per batch: twice the steps for the same images, which the
    // small synthetic set needs (rank-1 0.28 with 32, 0.66 with 16 at the same budget).
    if constexpr (BatchSampler<typename Config::SamplerPolicy>) config.sampler.batch.batch_p = 16;
  }
};

/// The seed's video recipes (Video.py): Seed's defaults with raw test features (averaged over
/// a tracklet's clips), 600 epochs, test batches of 32 clips and best.pt by mAP; and a synthetic
/// profile whose batches hold as many frames as the image recipes' (8 identities × 4 tracklets
/// × 2 frames).
struct SeedVideo {
  static void defaults(engine::Settings& settings) {
    Seed<TestFeatures::raw>::defaults(settings);
    settings.train.max_epoch = 600;
    settings.data.test_batch = 32;  // clips of --seq-len frames
    // Video.py:69 `parser.add_argument('-f', '--focus', type=str, default='map', ...)`: every
    // video dataset keeps its best model by mAP.
    settings.train.best_metric = engine::SelectionMetric::mAP;
  }

  /// K stays 4 because the variance term's prototype divides by a hard-coded 4 (the seed's
  /// quirk): with K = 2 it would penalise the features' size, not their spread.
  template <class Config>
  static void synthetic_profile(Config& config) {
    static_assert(VideoSampler<typename Config::SamplerPolicy>,
                  "defaults::SeedVideo sizes clips: it needs a VideoSampler (samplers::VideoPK)");
    Seed<TestFeatures::raw>::synthetic_profile(config);
    config.sampler.batch = {.batch_p = 8, .batch_k = 4};
    config.sampler.clips.seq_len = 2;
  }
};

/// How the seed reports a video dataset it evaluates after training (README "Mars": "Do not
/// evaluate model and just save all of them", then evaluate_videos.py): VideoDataset
/// sample='test' with max_length `MaxFrames` (evaluate_videos.py:85, 32 for MARS; 40 otherwise,
/// :96), and per clip the flipped clip's feature added and the sum L2-normalised before the
/// tracklet's mean (test_rerank2, :205-220).
template <int MaxFrames>
struct SeedVideoEvaluation {
  template <class Config>
  static void defaults(Config& config) {
    static_assert(VideoSampler<typename Config::SamplerPolicy>,
                  "defaults::SeedVideoEvaluation plans test clips: it needs a VideoSampler (samplers::VideoPK)");
    config.sampler.clips.test_sampling = samplers::TestSampling::sampled;
    config.sampler.clips.max_test_frames = MaxFrames;
    config.eval.flip_test = true;
    config.eval.normalize_clips = true;
    config.eval.normalize_features = false;
  }
};

}  // namespace fgreid::defaults
