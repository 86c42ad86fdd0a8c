#pragma once
// The option groups every recipe has, besides its policies' own.
#include <fgreid/data/transforms.hpp>
#include <fgreid/enum_names.hpp>
#include <fgreid/eval/metrics.hpp>
#include <fgreid/options.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid {

namespace engine {

enum class DeviceChoice { automatic, cpu, cuda };
enum class AmpMode { off, bf16, fp16 };
enum class OptimizerKind { adam, sgd };
enum class ScheduleKind { multistep, cosine };
enum class SelectionMetric { rank1, mAP };
enum class DistBackend { automatic, nccl, gloo };
enum class LossBatch { global, rank };

struct RunOptions {
  static constexpr std::string_view flag_group = "run";
  /// Dataset root holding the release's folders; none: the synthetic stand-in, generated once.
  std::filesystem::path data_root;
  /// Output folder; none: runs/<recipe>/<timestamp> (-2, -3, ... when another run started in the same second).
  std::filesystem::path output;
  /// Write into an --output folder that holds another run, removing its config.json, log.jsonl, metrics.json and checkpoints first.
  bool overwrite = false;
  /// Compute device: auto (CUDA when present), cpu or cuda.
  DeviceChoice device = DeviceChoice::automatic;
  /// LibTorch intra-op threads; 0 = every core.
  int threads = 0;
  /// Seed of every random choice: initialisation, sampling, augmentation.
  std::int64_t seed = 1;
  /// Print the dataset's statistics as one JSON line and exit.
  bool summary = false;
  /// After the final evaluation, write query/gallery features to this file (torch.load-able).
  std::filesystem::path extract;
  /// Instead of training: the features of these images (a folder, a glob or a list file; clips: folders of frames) with --weights, written to --extract FILE (torch.load), FILE .npy and FILE .paths.txt.
  std::string extract_images;
  /// Evaluate the checkpoint given by --weights instead of training.
  bool evaluate = false;
  /// Model checkpoint to evaluate (--evaluate); a classifier of another identity count (another dataset's run) is skipped.
  std::filesystem::path weights;
  /// Evaluate every checkpoint (*.pt) of this run folder instead of training: raw and flip + L2 features × euclidean and cosine × plain, re-ranked, st-ReID (where the dataset has frames), st-ReID + re-ranked; a table, checkpoints.csv and checkpoints.png.
  std::filesystem::path checkpoints;
  /// Continue an interrupted run exactly: its output folder (takes last.pt) or a checkpoint file.
  std::filesystem::path resume;
  /// Mixed precision on CUDA: bf16, fp16 (with a gradient scaler) or off.
  AmpMode amp = AmpMode::off;
  /// Keep images and convolution weights in channels-last (NHWC) memory layout (CUDA).
  bool channels_last = false;
  /// Let cuDNN time its convolution algorithms for the input size once and keep the fastest.
  bool cudnn_benchmark = true;
  /// On CUDA, capture the whole training step (after 3 eager steps) and extraction's forward (after 1 batch) as CUDA graphs and replay them; eager where capture is impossible (torchrun), with a line saying why.
  bool cuda_graphs = true;
  FGREID_REFLECT(RunOptions, data_root, output, overwrite, device, threads, seed, summary, extract, extract_images, evaluate,
                 weights, checkpoints, resume, amp, channels_last, cudnn_benchmark, cuda_graphs);
};

struct WeightsOptions {
  static constexpr std::string_view flag_group = "weights";
  /// ImageNet weights for the first trunk: torch.save(state_dict) of torchvision's ResNet (dict or OrderedDict) or a TorchScript file.
  std::filesystem::path pretrained;
  /// The same for the second trunk (FGReID's base_mars).
  std::filesystem::path pretrained_second;
  /// Whether keys the trunk has but --pretrained lacks are an error (false: a warning).
  bool strict = true;
  /// Start from a checkpoint of another run (e.g. VehicleID for VeRi); a classifier of another identity count is dropped.
  std::filesystem::path init_from;
  /// Take only the tensors under this name from --init-from (e.g. base_mars. for video pre-training); empty: all.
  std::string init_from_prefix;
  /// After the run, write the model's state dict (torchvision names) here for Python's load_state_dict.
  std::filesystem::path export_weights;
  /// Print the module tree, parameter counts and MACs per image, then exit.
  bool print_model = false;
  FGREID_REFLECT(WeightsOptions, pretrained, pretrained_second, strict, init_from,
                 init_from_prefix, export_weights, print_model);
};

struct TrainOptions {
  static constexpr std::string_view flag_group = "training";
  /// Training epochs.
  int max_epoch = 120;
  /// Optimizer of the model: adam or sgd.
  OptimizerKind optimizer = OptimizerKind::adam;
  /// SGD momentum.
  double momentum = 0.9;
  /// Nesterov momentum for SGD.
  bool nesterov = false;
  /// Apply weight decay to biases and BatchNorm parameters too (false keeps them out).
  bool decay_bias_bn = true;
  /// Learning-rate schedule after warm-up: multistep (×gamma at each milestone) or cosine (to 0 at the last epoch).
  ScheduleKind schedule = ScheduleKind::multistep;
  /// Metric that picks best.pt: rank1 or mAP.
  SelectionMetric best_metric = SelectionMetric::rank1;
  /// At each evaluation, draw loss, learning-rate and metric curves as curves.png.
  bool plot = false;
  /// Iterations per epoch; 0 = one pass of the sampler (for long epochs, or quick trials).
  std::int64_t epoch_iterations = 0;
  /// First epoch (0-based) that is evaluated; the seed spells it --thresold.
  int eval_start = 0;
  /// Evaluate every this many epochs from --eval-start (and always after the last).
  int eval_every = 10;
  /// Base learning rate (Adam).
  double lr = 3.5e-4;
  /// L2 weight decay.
  double weight_decay = 5e-4;
  /// Epochs of linear warm-up from lr·warmup-factor to lr.
  int warmup_epochs = 10;
  /// Learning-rate factor at the first warm-up epoch.
  double warmup_factor = 0.01;
  /// Epochs at which the learning rate is multiplied by --gamma.
  std::vector<int> milestones = {40, 70};
  /// Learning-rate decay factor at each milestone.
  double gamma = 0.1;
  /// Print a progress line every this many iterations.
  int print_every = 20;
  /// Also keep the model at every this many epochs as epoch_<n>.pt (n 1-based, for --checkpoints); 0 = none.
  int keep_every = 0;
  /// Also write last.pt every so often between evaluations: <n>min, <n>it (iterations) or 0 (only at evaluations and stops).
  std::string checkpoint_every = "30min";
  FGREID_REFLECT(TrainOptions, max_epoch, optimizer, momentum, nesterov, decay_bias_bn, schedule,
                 best_metric, plot, epoch_iterations, eval_start, eval_every, lr, weight_decay, warmup_epochs,
                 warmup_factor, milestones, gamma, print_every, keep_every, checkpoint_every);
};

struct DataOptions {
  static constexpr std::string_view flag_group = "data";
  /// Input image height in pixels.
  int height = 256;
  /// Input image width in pixels.
  int width = 128;
  /// Decoding threads of the data loader.
  int workers = 2;
  /// Batches decoded ahead of the training thread.
  int prefetch = 4;
  /// Images per batch when extracting evaluation features.
  int test_batch = 128;
  /// The training augmentations and the resize (flags of their own group, "augmentation").
  data::PipelineOptions augment;
  FGREID_REFLECT(DataOptions, height, width, workers, prefetch, test_batch, augment);

  /// The loader's pipeline at height × width: the training augmentations of `augment`
  /// (`train`), or the test-time resize and normalisation.
  [[nodiscard]] data::Pipeline pipeline(bool train) const;
};

struct EvalOptions {
  static constexpr std::string_view flag_group = "evaluation";
  /// Distance between features: euclidean (squared) or cosine.
  eval::Metric metric = eval::Metric::euclidean;
  /// Add the features of the horizontally flipped image (test-time augmentation).
  bool flip_test = false;
  /// L2-normalise features before measuring distances.
  bool normalize_features = false;
  /// Video: L2-normalise each clip's feature before averaging a tracklet's clips (evaluate_videos.py's flip + L2).
  bool normalize_clips = false;
  /// Longest CMC curve reported.
  int max_rank = 50;
  /// Draw this many queries with their top-10 gallery images as ranks.png at each evaluation; 0 = none.
  int visualize_ranks = 0;
  /// Overlay the spatial attention map on this many query images at each evaluation (FGReID models); 0 = none.
  int visualize_attention = 0;
  /// At each evaluation, plot the centers, classifier weights and training features by identity (2-D PCA).
  bool plot_centers = false;
  FGREID_REFLECT(EvalOptions, metric, flip_test, normalize_features, normalize_clips, max_rank, visualize_ranks,
                 visualize_attention, plot_centers);
};

/// Data-parallel training when torchrun starts the recipe (README "Several GPUs and machines").
struct DistOptions {
  static constexpr std::string_view flag_group = "distributed (under torchrun)";
  /// Collectives: auto (NCCL for CUDA, Gloo for the CPU), nccl or gloo.
  DistBackend dist_backend = DistBackend::automatic;
  /// Normalise BatchNorm by the statistics of the global batch (false: each rank by its own share, as DistributedDataParallel does).
  bool sync_bn = false;
  /// The batch the loss terms see: global (every rank's outputs gathered, the terms of one process on the whole batch) or rank (its own identities: batch-hard mining, OSM and the attention minimum then look at fewer).
  LossBatch loss_batch = LossBatch::global;
  /// Gradient bucket size in MiB: a bucket is all-reduced as soon as backward has filled it, while the rest of backward runs.
  double bucket_mb = 25;
  /// Seconds a collective waits for the other ranks (evaluation on rank 0 included) before the run stops with an error.
  int dist_timeout = 1800;
  FGREID_REFLECT(DistOptions, dist_backend, sync_bn, loss_batch, bucket_mb, dist_timeout);
};

}  // namespace engine

template <>
struct EnumNames<engine::DeviceChoice> {
  static constexpr std::array<std::string_view, 3> values{"auto", "cpu", "cuda"};
};
template <>
struct EnumNames<engine::AmpMode> {
  static constexpr std::array<std::string_view, 3> values{"off", "bf16", "fp16"};
};
template <>
struct EnumNames<engine::OptimizerKind> {
  static constexpr std::array<std::string_view, 2> values{"adam", "sgd"};
};
template <>
struct EnumNames<engine::ScheduleKind> {
  static constexpr std::array<std::string_view, 2> values{"multistep", "cosine"};
};
template <>
struct EnumNames<engine::DistBackend> {
  static constexpr std::array<std::string_view, 3> values{"auto", "nccl", "gloo"};
};
template <>
struct EnumNames<engine::LossBatch> {
  static constexpr std::array<std::string_view, 2> values{"global", "rank"};
};
template <>
struct EnumNames<engine::SelectionMetric> {
  static constexpr std::array<std::string_view, 2> values{"rank1", "mAP"};
};

}  // namespace fgreid
