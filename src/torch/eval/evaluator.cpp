#include <fgreid/dist/world.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/evaluator.hpp>
#include <fgreid/eval/features.hpp>
#include <fgreid/eval/pictures.hpp>
#include <fgreid/eval/suite.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <unordered_map>

namespace fgreid::eval {

namespace {

std::vector<std::int64_t> column(const std::vector<datasets::Entry>& entries,
                                 std::int64_t datasets::Entry::*field) {
  std::vector<std::int64_t> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(e.*field);
  return out;
}

torch::Tensor as_tensor(const std::vector<std::int64_t>& values) {
  return torch::tensor(values, torch::kLong);
}

/// The column of `entries`' frames, or nothing when some frame is unknown (-1).
std::optional<torch::Tensor> known_frames(const std::vector<datasets::Entry>& entries) {
  const auto frames = column(entries, &datasets::Entry::frame);
  if (std::ranges::any_of(frames, [](std::int64_t frame) { return frame < 0; }))
    return std::nullopt;
  return as_tensor(frames);
}

std::vector<std::filesystem::path> first_images(const std::vector<datasets::Entry>& entries) {
  std::vector<std::filesystem::path> paths;
  paths.reserve(entries.size());
  for (const auto& entry : entries) paths.push_back(entry.images.front());
  return paths;
}

/// The labels of `query` and `gallery` into `set` (its features are set elsewhere).
void set_labels(FeatureSet& set, const std::vector<datasets::Entry>& query,
                const std::vector<datasets::Entry>& gallery) {
  set.query_pids = as_tensor(column(query, &datasets::Entry::pid));
  set.gallery_pids = as_tensor(column(gallery, &datasets::Entry::pid));
  set.query_camids = as_tensor(column(query, &datasets::Entry::camid));
  set.gallery_camids = as_tensor(column(gallery, &datasets::Entry::camid));
}

/// 16 identities × up to 4 images of the training set: what --plot-centers draws features of.
std::vector<datasets::Entry> embedding_sample(const std::vector<datasets::Entry>& train) {
  std::map<std::int64_t, int> taken;
  std::vector<datasets::Entry> sample;
  for (const auto& entry : train)
    if ((taken.size() < 16 || taken.contains(entry.pid)) && taken[entry.pid] < 4) {
      ++taken[entry.pid];
      sample.push_back(entry);
    }
  return sample;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Evaluator::Evaluator(const datasets::Splits& splits, const engine::Settings& settings,
                     samplers::ClipPlan clips, PictureSources pictures)
    : splits_(splits), settings_(settings), clips_(std::move(clips)), pictures_(std::move(pictures)) {}

torch::Tensor Evaluator::features_of(models::ReidModuleImpl& model,
                                     const std::vector<datasets::Entry>& entries,
                                     const engine::EvalOptions& eval, torch::Device device) const {
  const auto& world = dist::world();
  const auto forward = ForwardSettings::of(settings_.run);
  if (!world.distributed()) return extract_features(model, entries, clips_, settings_.data, eval, device, forward);
  const auto count = static_cast<std::int64_t>(entries.size());
  const auto [begin, end] = world.share(count);
  const std::vector<datasets::Entry> mine(entries.begin() + begin, entries.begin() + end);
  auto local = mine.empty() ? torch::zeros({0, model.feature_dim()})
                            : extract_features(model, mine, clips_, settings_.data, eval, device, forward);
  return world.gather_shares(local, count);
}

void Evaluator::share_features(models::ReidModuleImpl& model, torch::Device device) const {
  (void)feature_set(model, device);
}

FeatureSet Evaluator::feature_set(models::ReidModuleImpl& model, torch::Device device) const {
  FeatureSet set;
  set.query_features = features_of(model, splits_.query, settings_.eval, device);
  set.gallery_features = features_of(model, splits_.gallery, settings_.eval, device);
  describe(set);
  return set;
}

std::array<FeatureSet, 2> Evaluator::feature_views(models::ReidModuleImpl& model,
                                                   torch::Device device) const {
  const auto forward = ForwardSettings::of(settings_.run);
  auto query = extract_feature_views(model, splits_.query, clips_, settings_.data, device, forward);
  auto gallery = extract_feature_views(model, splits_.gallery, clips_, settings_.data, device, forward);
  std::array<FeatureSet, 2> views;
  views[0].query_features = std::move(query.raw);
  views[0].gallery_features = std::move(gallery.raw);
  views[1].query_features = std::move(query.flip_normalized);
  views[1].gallery_features = std::move(gallery.flip_normalized);
  for (auto& view : views) describe(view);
  return views;
}

void Evaluator::describe(FeatureSet& set) const {
  set_labels(set, splits_.query, splits_.gallery);
  set.query_frames = known_frames(splits_.query);
  set.gallery_frames = known_frames(splits_.gallery);
  if (auto train_frames = known_frames(splits_.train); train_frames && !splits_.train.empty()) {
    set.train_pids = as_tensor(column(splits_.train, &datasets::Entry::pid));
    set.train_camids = as_tensor(column(splits_.train, &datasets::Entry::camid));
    set.train_frames = std::move(train_frames);
  }
}

Evaluation Evaluator::operator()(models::ReidModuleImpl& model, torch::Device device,
                                 const std::filesystem::path& output, const std::string& tag) const {
  const auto start = std::chrono::steady_clock::now();
  auto set = feature_set(model, device);
  if (settings_.suite.st_reid)
    if (const auto why = st_reid_unavailable(set); !why.empty()) throw UsageError("--st-reid: " + why);
  auto suite = settings_.suite;
  if (suite.cmc_plot.empty()) suite.cmc_plot = output / "cmc.png";
  if (suite.roc && suite.roc_plot.empty()) suite.roc_plot = output / "roc.png";
  auto result = run_suite(set, settings_.eval.metric, settings_.eval.max_rank, suite, settings_.rerank,
                          settings_.st, static_cast<std::uint64_t>(settings_.run.seed));
  if (!splits_.trials.empty()) average_over_trials(set, result.metrics);
  if (settings_.eval.visualize_ranks > 0) draw_ranks(output / "ranks.png", result.final_distances);
  result.metrics["eval_seconds"] = seconds_since(start);
  draw_model_pictures(model, device, output, tag);
  return {std::move(result.metrics), std::move(set)};
}

/// Every draw's visual metrics averaged into `metrics` (each with its sample spread as
/// <key>_std). A test image's feature is computed once, in the first draw, which holds them all.
void Evaluator::average_over_trials(const FeatureSet& first, nlohmann::json& metrics) const {
  std::unordered_map<std::string, torch::Tensor> feature_of;
  for (std::size_t i = 0; i < splits_.query.size(); ++i)
    feature_of[splits_.query[i].images.front().string()] = first.query_features[static_cast<std::int64_t>(i)];
  for (std::size_t i = 0; i < splits_.gallery.size(); ++i)
    feature_of[splits_.gallery[i].images.front().string()] = first.gallery_features[static_cast<std::int64_t>(i)];
  auto gather = [&](const std::vector<datasets::Entry>& entries) {
    std::vector<torch::Tensor> rows;
    rows.reserve(entries.size());
    for (const auto& entry : entries) {
      const auto found = feature_of.find(entry.images.front().string());
      if (found == feature_of.end())
        throw DataError(fmt::format("{}: in a later draw but not in the first", entry.images.front().string()));
      rows.push_back(found->second);
    }
    return torch::stack(rows);
  };
  std::vector<nlohmann::json> runs{metrics};
  SuiteOptions visual_only;
  visual_only.protocol = settings_.suite.protocol;
  for (const auto& trial : splits_.trials) {
    FeatureSet set;
    set.query_features = gather(trial.query);
    set.gallery_features = gather(trial.gallery);
    set_labels(set, trial.query, trial.gallery);
    runs.push_back(run_suite(set, settings_.eval.metric, settings_.eval.max_rank, visual_only,
                             settings_.rerank, settings_.st, static_cast<std::uint64_t>(settings_.run.seed))
                       .metrics);
  }
  for (const auto& [key, value] : runs.front().items()) {
    if (!value.is_number() || key == "valid_queries") continue;
    double sum = 0, squares = 0;
    for (const auto& run : runs) sum += run.value(key, 0.0);
    const double mean = sum / static_cast<double>(runs.size());
    for (const auto& run : runs) squares += std::pow(run.value(key, 0.0) - mean, 2);
    metrics[key] = mean;
    metrics[key + "_std"] = std::sqrt(squares / static_cast<double>(runs.size() - 1));
  }
  metrics["trials"] = runs.size();
}

void Evaluator::draw_ranks(const std::filesystem::path& png, const std::vector<float>& distances) const {
  const auto query_ids = column(splits_.query, &datasets::Entry::pid);
  const auto query_cams = column(splits_.query, &datasets::Entry::camid);
  const auto gallery_ids = column(splits_.gallery, &datasets::Entry::pid);
  const auto gallery_cams = column(splits_.gallery, &datasets::Entry::camid);
  const auto query_images = first_images(splits_.query), gallery_images = first_images(splits_.gallery);
  write_rank_grids(png, distances, Labels{query_ids, query_cams}, Labels{gallery_ids, gallery_cams},
                   query_images, gallery_images,
                   static_cast<std::size_t>(settings_.eval.visualize_ranks), 10,
                   static_cast<std::uint64_t>(settings_.run.seed));
}

/// --visualize-attention and --plot-centers: attention_<tag>.png and embedding_<tag>.png.
void Evaluator::draw_model_pictures(models::ReidModuleImpl& model, torch::Device device,
                                    const std::filesystem::path& output, const std::string& tag) const {
  const auto& eval = settings_.eval;
  const auto& data = settings_.data;
  if (eval.visualize_attention > 0) {
    const auto indices = sample_queries(splits_.query.size(), static_cast<std::size_t>(eval.visualize_attention),
                                        static_cast<std::uint64_t>(settings_.run.seed));
    write_attention_overlays(pictures_.attention, splits_.query, indices,
                             data::ImageTransform{data.height, data.width, 0.0}, device,
                             output / fmt::format("attention_{}.png", tag));
  }
  if (eval.plot_centers) {
    // Raw model features: the space the centers live in (not the flip-summed, normalised test
    // features).
    const auto sample = embedding_sample(splits_.train);
    // Rank 0 alone draws: not sharded over the ranks.
    const auto features =
        extract_features(model, sample, clips_, data, engine::EvalOptions{}, device, ForwardSettings::of(settings_.run));
    const auto labels = as_tensor(column(sample, &datasets::Entry::pid));
    write_embedding_plot(pictures_.centers ? pictures_.centers() : torch::Tensor(),
                         pictures_.classifier_weight ? pictures_.classifier_weight() : torch::Tensor(),
                         features, labels, output / fmt::format("embedding_{}.png", tag));
  }
}

}  // namespace fgreid::eval
