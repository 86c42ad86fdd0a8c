#pragma once
// A model's evaluation at one point of a run, in four stages: test features (images, or
// tracklets averaged over their test clips), the suite of metrics (visual, re-ranking, st-ReID,
// single shot), the repeated draws of datasets that have them (VehicleID's --trials), and the
// pictures (cmc.png, ranks.png, attention_<tag>.png, embedding_<tag>.png).
#include <fgreid/datasets/splits.hpp>
#include <fgreid/engine/settings.hpp>
#include <fgreid/eval/features_file.hpp>
#include <fgreid/eval/model_pictures.hpp>
#include <fgreid/models/module.hpp>
#include <fgreid/samplers/options.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <functional>
#include <string>

namespace fgreid::eval {

/// What the model pictures draw, from the capabilities of the recipe's policies (the network's,
/// models/concept.hpp; the loss's, losses/concept.hpp); each part is empty when absent.
struct PictureSources {
  /// AttentionNetwork: --visualize-attention overlays it on query images.
  AttentionView attention;
  /// ClassifierNetwork: --plot-centers draws the classifier's weights [C, D'].
  std::function<torch::Tensor()> classifier_weight;
  /// ClassCenterLoss: --plot-centers draws the class centers [C, D].
  std::function<torch::Tensor()> centers;
};

/// The outcome of one evaluation: the metrics line, and the features it measured.
struct Evaluation {
  nlohmann::json metrics;
  FeatureSet features;
};

class Evaluator {
 public:
  /// Evaluates on `splits` as `settings` ask (data, eval, suite, rerank, st, run.seed), with
  /// the test `clips` of a video sampler (empty: images). The arguments must outlive it.
  Evaluator(const datasets::Splits& splits, const engine::Settings& settings,
            samplers::ClipPlan clips, PictureSources pictures);

  /// Features, metrics, trials and pictures of `model` on `device`. The pictures go to
  /// `output`; those of the model are named after `tag` (epoch_005, evaluate).
  [[nodiscard]] Evaluation operator()(models::ReidModuleImpl& model, torch::Device device,
                                      const std::filesystem::path& output,
                                      const std::string& tag) const;

  /// Under torchrun, on ranks other than 0: this rank's share of the test features, which rank
  /// 0's evaluation (operator()) gathers; every rank extracts a share.
  void share_features(models::ReidModuleImpl& model, torch::Device device) const;

  /// Both test views of the query and gallery from one pass of the model (extract_feature_views):
  /// {raw, flip + L2} feature sets with their labels, frames and training times.
  [[nodiscard]] std::array<FeatureSet, 2> feature_views(models::ReidModuleImpl& model,
                                                        torch::Device device) const;

  /// Test features [N, D] of `entries` (float, CPU), with the settings' flip and normalisation
  /// (`eval`), averaged over the test clips for a video dataset.
  [[nodiscard]] torch::Tensor features_of(models::ReidModuleImpl& model,
                                          const std::vector<datasets::Entry>& entries,
                                          const engine::EvalOptions& eval,
                                          torch::Device device) const;

 private:
  [[nodiscard]] FeatureSet feature_set(models::ReidModuleImpl& model, torch::Device device) const;
  /// `set` with the labels, frames and training times of the splits.
  void describe(FeatureSet& set) const;
  void average_over_trials(const FeatureSet& first, nlohmann::json& metrics) const;
  void draw_ranks(const std::filesystem::path& png, const std::vector<float>& distances) const;
  void draw_model_pictures(models::ReidModuleImpl& model, torch::Device device,
                           const std::filesystem::path& output, const std::string& tag) const;

  const datasets::Splits& splits_;
  const engine::Settings& settings_;
  samplers::ClipPlan clips_;
  PictureSources pictures_;
};

}  // namespace fgreid::eval
