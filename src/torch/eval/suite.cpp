#include <fgreid/error.hpp>
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/query_expansion.hpp>
#include <fgreid/eval/roc.hpp>
#include <fgreid/eval/suite.hpp>

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <tuple>

namespace fgreid::eval {

namespace {

std::vector<std::int64_t> longs_of(const torch::Tensor& labels) {
  const auto cpu = labels.to(torch::kCPU, torch::kLong).contiguous();
  return {cpu.data_ptr<std::int64_t>(), cpu.data_ptr<std::int64_t>() + cpu.numel()};
}

std::vector<float> floats_of(const torch::Tensor& matrix) {
  const auto cpu = matrix.to(torch::kCPU, torch::kFloat).contiguous();
  return {cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel()};
}

torch::Tensor unit_rows(const torch::Tensor& rows) {
  return torch::nn::functional::normalize(rows,
                                          torch::nn::functional::NormalizeFuncOptions().dim(1));
}

std::vector<std::int64_t> concatenated(std::vector<std::int64_t> first,
                                       const std::vector<std::int64_t>& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

}  // namespace

// --- FeatureRerankSource --------------------------------------------------------------------

FeatureRerankSource::FeatureRerankSource(const torch::Tensor& query, const torch::Tensor& gallery,
                                         Metric metric)
    : num_query_(static_cast<std::size_t>(query.size(0))),
      num_gallery_(static_cast<std::size_t>(gallery.size(0))),
      dims_(query.size(1)),
      metric_(metric) {
  torch::NoGradGuard no_grad;
  // Filled in place: at Market scale each extra pass over the features costs as much as a
  // tenth of the re-ranking's own bookkeeping.
  const std::int64_t nq = query.size(0), n = nq + gallery.size(0);
  const std::int64_t extra = metric == Metric::cosine ? 1 : 2;
  const auto options = torch::TensorOptions(torch::kFloat).device(query.device());
  left_ = torch::empty({n, dims_ + extra}, options);
  right_ = torch::empty({n, dims_ + extra}, options);
  auto features = left_.narrow(1, 0, dims_);
  features.narrow(0, 0, nq).copy_(query);
  features.narrow(0, nq, n - nq).copy_(gallery);
  if (metric == Metric::cosine) {
    features.copy_(unit_rows(features));
    left_.narrow(1, dims_, 1).fill_(1.0);
    right_.narrow(1, 0, dims_).copy_(features).neg_();
    right_.narrow(1, dims_, 1).fill_(1.0);
  } else {
    const auto norms = features.pow(2).sum(1, /*keepdim=*/true);
    left_.narrow(1, dims_, 1).copy_(norms);
    left_.narrow(1, dims_ + 1, 1).fill_(1.0);
    right_.narrow(1, 0, dims_).copy_(features).mul_(-2.0);
    right_.narrow(1, dims_, 1).fill_(1.0);
    right_.narrow(1, dims_ + 1, 1).copy_(norms);
  }
  left_cpu_ = left_.to(torch::kCPU).contiguous();
}

FeatureRerankSource::FeatureRerankSource(const torch::Tensor& query, const torch::Tensor& gallery,
                                         std::vector<std::int64_t> camids,
                                         std::vector<std::int64_t> frames, const StModel& model,
                                         const StReidOptions& options)
    : FeatureRerankSource(query, gallery, Metric::cosine) {
  if (camids.size() != num_query_ + num_gallery_ || frames.size() != camids.size())
    throw std::invalid_argument(fmt::format(
        "FeatureRerankSource: {} cameras and {} frames for {} items", camids.size(),
        frames.size(), num_query_ + num_gallery_));
  camids_ = std::move(camids);
  frames_ = std::move(frames);
  st_model_ = &model;
  st_options_ = options;
}

float FeatureRerankSource::from_dot(std::size_t i, std::size_t j, double dot) const {
  if (st_model_ != nullptr) {
    const double p = st_model_->probability(camids_[j], frames_[j], camids_[i], frames_[i]);
    return static_cast<float>(2.0 - 2.0 * static_cast<float>(st_joint_score(dot, p, st_options_)));
  }
  if (metric_ == Metric::cosine) return static_cast<float>(1.0 - dot);
  const float* row_i = left_cpu_.data_ptr<float>() + static_cast<std::int64_t>(i) * left_cpu_.size(1);
  const float* row_j = left_cpu_.data_ptr<float>() + static_cast<std::int64_t>(j) * left_cpu_.size(1);
  const double squared = static_cast<double>(row_i[dims_]) + row_j[dims_] - 2 * dot;
  return static_cast<float>(std::max(squared, 0.0));
}

float FeatureRerankSource::at(std::size_t i, std::size_t j) const {
  const std::int64_t stride = left_cpu_.size(1);
  const float* a = left_cpu_.data_ptr<float>() + static_cast<std::int64_t>(i) * stride;
  const float* b = left_cpu_.data_ptr<float>() + static_cast<std::int64_t>(j) * stride;
  double dot = 0;
  for (std::int64_t d = 0; d < dims_; ++d) dot += static_cast<double>(a[d]) * b[d];
  return from_dot(i, j, dot);
}

void FeatureRerankSource::columns(std::size_t begin, std::size_t end, std::size_t first_row,
                                  std::span<float> out) const {
  torch::NoGradGuard no_grad;  // grad mode is per thread: this may run on TBB's
  const std::size_t n = num_query_ + num_gallery_;
  const auto columns = static_cast<std::int64_t>(end - begin);
  const auto rows = static_cast<std::int64_t>(n - first_row);
  const auto first = static_cast<std::int64_t>(first_row);
  const auto block = left_.narrow(0, static_cast<std::int64_t>(begin), columns);
  if (st_model_ == nullptr) {
    const auto others = right_.narrow(0, first, rows).t();
    // Straight into `out`: no pass over the block but the product's (on a GPU, its copy to the
    // host, which returns once the product is there; at MSMT17's size a host staging tensor
    // would cost 17.6 GB of allocation and copying).
    auto products = torch::from_blob(out.data(), {columns, rows}, torch::kFloat);
    if (left_.is_cpu())
      torch::mm_out(products, block, others);
    else
      products.copy_(torch::mm(block, others));
    return;
  }
  const auto features = left_.narrow(1, 0, dims_);
  const auto cpu = torch::mm(features.narrow(0, static_cast<std::int64_t>(begin), columns),
                             features.narrow(0, first, rows).t())
                       .to(torch::kCPU)
                       .contiguous();
  const float* dots = cpu.data_ptr<float>();
  const std::size_t length = n - first_row;
  for (std::size_t i = begin; i < end; ++i)
    for (std::size_t j = first_row; j < n; ++j)
      out[(i - begin) * length + j - first_row] =
          from_dot(i, j, dots[(i - begin) * length + j - first_row]);
}

// --- run_suite ------------------------------------------------------------------------------

std::string st_reid_unavailable(const FeatureSet& features) {
  if (!features.query_frames || !features.gallery_frames)
    return "st-ReID needs frame numbers (query_frames and gallery_frames), which this dataset "
           "does not have (e.g. CUHK01, VehicleID)";
  for (const auto* frames : {&*features.query_frames, &*features.gallery_frames})
    if (frames->numel() > 0 && frames->min().item<std::int64_t>() < 0)
      return "st-ReID needs frame numbers, and some query/gallery frames are unknown (-1)";
  if (!features.train_pids || !features.train_camids || !features.train_frames)
    return "st-ReID needs the training set's cameras and frames (train_pids, train_camids, "
           "train_frames) to build its histograms";
  if (features.train_frames->numel() == 0 || features.train_frames->min().item<std::int64_t>() < 0)
    return "st-ReID needs the training set's frame numbers, and some are unknown (-1)";
  return {};
}

namespace {
/// `given` with its query and gallery features replaced by their --aqe-k expansion.
FeatureSet expanded(const FeatureSet& given, const SuiteOptions& options) {
  FeatureSet set = given;
  std::tie(set.query_features, set.gallery_features) = expand_queries(
      given.query_features, given.gallery_features,
      {.k = options.aqe_k, .alpha = options.aqe_alpha, .times = options.aqe_times});
  return set;
}
}  // namespace

SuiteResult run_suite(const FeatureSet& given, Metric metric, int max_rank,
                      const SuiteOptions& options, const RerankOptions& rerank_options,
                      const StReidOptions& st_options, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  // AQE comes first: every run below measures the expanded features (fast-reid re-ranks them too).
  const FeatureSet& features = options.aqe_k > 0 ? expanded(given, options) : given;
  const auto query_pids = longs_of(features.query_pids);
  const auto query_camids = longs_of(features.query_camids);
  const auto gallery_pids = longs_of(features.gallery_pids);
  const auto gallery_camids = longs_of(features.gallery_camids);
  const Labels query{query_pids, query_camids}, gallery{gallery_pids, gallery_camids};
  const std::size_t nq = query_pids.size(), ng = gallery_pids.size();

  SuiteResult result;
  auto record = [&](const std::string& key, const std::string& label, const Metrics& metrics) {
    if (key.empty())
      result.metrics = to_json(metrics);
    else
      result.metrics[key] = to_json(metrics);
    result.curves.push_back({label, metrics.cmc});
  };

  result.final_distances = floats_of(
      pairwise_distances(features.query_features, features.gallery_features, metric));
  record("", "visual", evaluate_protocol(options.protocol, result.final_distances, query, gallery,
                                         max_rank));
  if (options.protocol == Protocol::seed) result.metrics["protocol"] = "seed";

  if (options.single_shot_repeats > 0)
    record("single_shot", "single-gallery-shot",
           evaluate_single_shot(result.final_distances, query, gallery, max_rank,
                                {options.single_shot_repeats, seed}));

  if (options.rerank) {
    const FeatureRerankSource source(features.query_features, features.gallery_features, metric);
    result.final_distances = rerank(source, rerank_options);
    record("rerank", "re-ranked",
           evaluate_protocol(options.protocol, result.final_distances, query, gallery, max_rank));
  }

  if (options.st_reid) {
    if (const auto why = st_reid_unavailable(features); !why.empty())
      throw std::invalid_argument(why);
    const auto train_pids = longs_of(*features.train_pids);
    const auto train_camids = longs_of(*features.train_camids);
    const auto train_frames = longs_of(*features.train_frames);
    const auto query_frames = longs_of(*features.query_frames);
    const auto gallery_frames = longs_of(*features.gallery_frames);
    const StModel model = StModel::fit(train_pids, {train_camids, train_frames}, st_options);

    // The seed's visual similarity: cosine of L2-normalised features.
    auto similarity = floats_of(
        pairwise_distances(features.query_features, features.gallery_features, Metric::cosine));
    for (float& value : similarity) value = 1.0f - value;
    const auto scores = st_fuse(similarity, {query_camids, query_frames},
                                {gallery_camids, gallery_frames}, model, st_options);
    std::vector<float> distances(nq * ng);
    for (std::size_t k = 0; k < scores.size(); ++k) distances[k] = 2.0f - 2.0f * scores[k];
    record("st_reid", "st-ReID",
           evaluate_protocol(options.protocol, distances, query, gallery, max_rank));
    result.final_distances = std::move(distances);

    if (options.rerank) {
      const FeatureRerankSource source(features.query_features, features.gallery_features,
                                       concatenated(query_camids, gallery_camids),
                                       concatenated(query_frames, gallery_frames), model,
                                       st_options);
      result.final_distances = rerank(source, rerank_options);
      record("st_reid_rerank", "st-ReID + re-ranked",
             evaluate_protocol(options.protocol, result.final_distances, query, gallery,
                               max_rank));
    }
  }

  if (options.aqe_k > 0)
    result.metrics["aqe"] = {{"k", options.aqe_k}, {"alpha", options.aqe_alpha}, {"times", options.aqe_times}};
  if (options.roc) {
    const auto roc = roc_curve(result.final_distances, query, gallery);
    result.metrics["roc"] = to_json(roc);
    result.metrics["roc"]["of"] = result.curves.back().label;
    if (!options.roc_plot.empty())
      write_roc_plot(options.roc_plot, roc, "ROC of the " + result.curves.back().label + " distances");
  }
  if (!options.cmc_plot.empty()) write_cmc_plot(options.cmc_plot, result.curves, max_rank);
  return result;
}

}  // namespace fgreid::eval
