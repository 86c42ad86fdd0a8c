#include <fgreid/eval/st_reid.hpp>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <stdexcept>
#include <utility>

namespace fgreid::eval {

namespace {

constexpr double kEpsilon = 1e-7;  // the seed's eps in every normalisation

/// Divides by (sum + eps), as the seed normalises every histogram.
void normalise(std::span<double> histogram) {
  double sum = 0;
  for (const double value : histogram) sum += value;
  for (double& value : histogram) value /= sum + kEpsilon;
}

/// The seed's gauss_smooth2: out[i] = Σ_{|j−i| ≤ 3σ} N(j − i; 0, σ) · in[j].
void smooth(std::span<double> histogram, double sigma) {
  const auto bins = static_cast<std::ptrdiff_t>(histogram.size());
  const auto reach = static_cast<std::ptrdiff_t>(std::floor(3 * sigma));
  std::vector<double> kernel(static_cast<std::size_t>(reach + 1));
  for (std::ptrdiff_t d = 0; d <= reach; ++d)
    kernel[static_cast<std::size_t>(d)] =
        std::exp(-static_cast<double>(d * d) / (2 * sigma * sigma)) /
        (sigma * std::sqrt(2 * std::numbers::pi));
  const std::vector<double> in(histogram.begin(), histogram.end());
  for (std::ptrdiff_t i = 0; i < bins; ++i) {
    double sum = 0;
    for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, i - reach);
         j <= std::min(bins - 1, i + reach); ++j)
      sum += kernel[static_cast<std::size_t>(std::abs(j - i))] * in[static_cast<std::size_t>(j)];
    histogram[static_cast<std::size_t>(i)] = sum;
  }
}

/// The rank order of evaluate_market: distance, then gallery index; NaN last.
std::uint64_t rank_key(float distance, std::size_t gallery_index) {
  std::uint32_t ordered = std::numeric_limits<std::uint32_t>::max();
  if (!std::isnan(distance)) {
    if (distance == 0.0f) distance = 0.0f;
    const auto bits = std::bit_cast<std::uint32_t>(distance);
    ordered = (bits & 0x8000'0000u) != 0 ? ~bits : (bits | 0x8000'0000u);
  }
  return (std::uint64_t{ordered} << 32) | static_cast<std::uint32_t>(gallery_index);
}

}  // namespace

StModel StModel::fit(std::span<const std::int64_t> train_pids, CameraTimes train,
                     const StReidOptions& options) {
  if (train.camids.size() != train_pids.size() || train.frames.size() != train_pids.size())
    throw std::invalid_argument(fmt::format(
        "StModel::fit: {} pids, {} camids and {} frames", train_pids.size(),
        train.camids.size(), train.frames.size()));
  if (options.st_bins < 1 || !(options.st_bin_frames > 0) || options.st_smoothing < 0)
    throw std::invalid_argument(fmt::format(
        "StModel::fit: st_bins {} and st_bin_frames {} must be positive, st_smoothing {} >= 0",
        options.st_bins, options.st_bin_frames, options.st_smoothing));
  StModel model;
  model.bins_ = options.st_bins;
  model.bin_frames_ = options.st_bin_frames;
  for (const std::int64_t camid : train.camids) {
    if (camid < 0)
      throw std::invalid_argument(fmt::format("StModel::fit: camera id {} < 0", camid));
    model.cameras_ = std::max(model.cameras_, camid + 1);
  }
  const auto cameras = static_cast<std::size_t>(model.cameras_);
  const auto bins = static_cast<std::size_t>(model.bins_);
  model.histograms_.assign(cameras * cameras * bins, 0.0);

  // Mean frame per identity and camera: sum / (count + eps), as the seed divides.
  std::map<std::int64_t, std::vector<std::pair<double, double>>> sums;  // pid -> (sum, count)
  for (std::size_t k = 0; k < train_pids.size(); ++k) {
    auto& per_camera = sums[train_pids[k]];
    per_camera.resize(cameras, {0.0, 0.0});
    auto& [sum, count] = per_camera[static_cast<std::size_t>(train.camids[k])];
    sum += static_cast<double>(train.frames[k]);
    count += 1;
  }
  for (const auto& [pid, per_camera] : sums) {
    for (std::size_t a = 0; a + 1 < cameras; ++a) {
      for (std::size_t b = a + 1; b < cameras; ++b) {
        if (per_camera[a].second == 0 || per_camera[b].second == 0) continue;
        const double time_a = per_camera[a].first / (per_camera[a].second + kEpsilon);
        const double time_b = per_camera[b].first / (per_camera[b].second + kEpsilon);
        const auto [later, earlier] = time_a > time_b ? std::pair(a, b) : std::pair(b, a);
        const auto bin =
            static_cast<std::size_t>(std::abs(time_a - time_b) / options.st_bin_frames);
        if (bin >= bins) continue;  // the seed would index out of its array
        model.histograms_[(later * cameras + earlier) * bins + bin] += 1;
      }
    }
  }
  for (std::size_t pair = 0; pair < cameras * cameras; ++pair) {
    const std::span<double> histogram(model.histograms_.data() + pair * bins, bins);
    normalise(histogram);
    if (options.st_smoothing > 0) {
      smooth(histogram, options.st_smoothing);
      normalise(histogram);
    }
  }
  return model;
}

std::span<const double> StModel::histogram(std::int64_t later, std::int64_t earlier) const {
  if (later < 0 || earlier < 0 || later >= cameras_ || earlier >= cameras_) return {};
  const auto offset = static_cast<std::size_t>((later * cameras_ + earlier) * bins_);
  return {histograms_.data() + offset, static_cast<std::size_t>(bins_)};
}

double StModel::probability(std::int64_t camid_a, std::int64_t frame_a, std::int64_t camid_b,
                            std::int64_t frame_b) const {
  // The seed: query later -> [query cam][gallery cam], otherwise (ties too) the transpose.
  const bool a_later = frame_a > frame_b;
  const auto histogram = a_later ? this->histogram(camid_a, camid_b)
                                 : this->histogram(camid_b, camid_a);
  if (histogram.empty()) return 0;
  const double difference = static_cast<double>(a_later ? frame_a - frame_b : frame_b - frame_a);
  const auto bin = static_cast<std::size_t>(difference / bin_frames_);
  return bin < histogram.size() ? histogram[bin] : 0.0;
}

double st_joint_score(double similarity, double st_probability, const StReidOptions& options) {
  return 1.0 / (1.0 + options.st_visual_lambda * std::exp(-options.st_visual_gamma * similarity)) *
         1.0 / (1.0 + options.st_lambda * std::exp(-options.st_gamma * st_probability));
}

std::vector<float> st_fuse(std::span<const float> similarity, CameraTimes query,
                           CameraTimes gallery, const StModel& model,
                           const StReidOptions& options) {
  const std::size_t nq = query.camids.size(), ng = gallery.camids.size();
  if (query.frames.size() != nq || gallery.frames.size() != ng || similarity.size() != nq * ng)
    throw std::invalid_argument(fmt::format(
        "st_fuse: {} similarities for {} query cameras/{} frames and {} gallery cameras/{} "
        "frames",
        similarity.size(), nq, query.frames.size(), ng, gallery.frames.size()));
  std::vector<float> scores(nq * ng);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nq, 4),
                    [&](const tbb::blocked_range<std::size_t>& rows) {
    for (std::size_t q = rows.begin(); q != rows.end(); ++q)
      for (std::size_t g = 0; g < ng; ++g) {
        const double p = model.probability(query.camids[q], query.frames[q], gallery.camids[g],
                                           gallery.frames[g]);
        scores[q * ng + g] =
            static_cast<float>(st_joint_score(similarity[q * ng + g], p, options));
      }
  });
  return scores;
}

Metrics evaluate_seed(std::span<const float> distances, Labels query, Labels gallery,
                      int max_rank) {
  const std::size_t nq = query.pids.size(), ng = gallery.pids.size();
  if (query.camids.size() != nq || gallery.camids.size() != ng || distances.size() != nq * ng)
    throw std::invalid_argument(fmt::format(
        "evaluate_seed: {} distances for {} queries ({} camids) × {} gallery entries ({} camids)",
        distances.size(), nq, query.camids.size(), ng, gallery.camids.size()));
  if (max_rank < 1)
    throw std::invalid_argument(fmt::format("evaluate_seed: max_rank {} < 1", max_rank));

  struct Outcome {
    std::int64_t first_match = -1;
    double average_precision = 0, inverse_negative_penalty = 0;
  };
  std::vector<Outcome> outcomes(nq);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nq, 8),
                    [&](const tbb::blocked_range<std::size_t>& rows) {
    std::vector<std::uint64_t> good;
    std::vector<std::int64_t> ahead;
    for (std::size_t q = rows.begin(); q != rows.end(); ++q) {
      const auto row = distances.subspan(q * ng, ng);
      const std::int64_t pid = query.pids[q], camid = query.camids[q];
      auto junk = [&](std::size_t g) {
        return gallery.pids[g] == -1 || (gallery.pids[g] == pid && gallery.camids[g] == camid);
      };
      good.clear();
      for (std::size_t g = 0; g < ng; ++g)
        if (gallery.pids[g] == pid && gallery.camids[g] != camid && !junk(g))
          good.push_back(rank_key(row[g], g));
      if (good.empty()) continue;
      std::ranges::sort(good);
      ahead.assign(good.size(), 0);  // kept non-matches between consecutive good matches
      for (std::size_t g = 0; g < ng; ++g) {
        if (junk(g) || gallery.pids[g] == pid) continue;
        const std::uint64_t key = rank_key(row[g], g);
        if (key >= good.back()) continue;
        ++ahead[static_cast<std::size_t>(std::ranges::upper_bound(good, key) - good.begin())];
      }
      Outcome outcome;
      const auto ngood = static_cast<double>(good.size());
      std::int64_t position = 0;
      for (std::size_t i = 0; i < good.size(); ++i) {
        position += ahead[i];
        const std::int64_t row_good = position + static_cast<std::int64_t>(i);
        if (i == 0) outcome.first_match = row_good;
        const double precision = static_cast<double>(i + 1) / static_cast<double>(row_good + 1);
        const double old_precision =
            row_good != 0 ? static_cast<double>(i) / static_cast<double>(row_good) : 1.0;
        outcome.average_precision += (1.0 / ngood) * (old_precision + precision) / 2;
        if (i + 1 == good.size())
          outcome.inverse_negative_penalty = ngood / static_cast<double>(row_good + 1);
      }
      outcomes[q] = outcome;
    }
  });

  Metrics metrics;
  metrics.total_queries = static_cast<std::int64_t>(nq);
  metrics.cmc.assign(static_cast<std::size_t>(max_rank), 0.0);
  for (const Outcome& outcome : outcomes) {
    if (outcome.first_match < 0) continue;
    ++metrics.valid_queries;
    metrics.mAP += outcome.average_precision;
    metrics.mINP += outcome.inverse_negative_penalty;
    for (auto k = static_cast<std::size_t>(outcome.first_match); k < metrics.cmc.size(); ++k)
      metrics.cmc[k] += 1;
  }
  if (nq == 0) return metrics;
  const auto all = static_cast<double>(nq);
  for (double& value : metrics.cmc) value /= all;
  metrics.mAP /= all;
  metrics.mINP /= all;
  return metrics;
}

Metrics evaluate_protocol(Protocol protocol, std::span<const float> distances, Labels query,
                          Labels gallery, int max_rank) {
  return protocol == Protocol::seed ? evaluate_seed(distances, query, gallery, max_rank)
                                    : evaluate_market(distances, query, gallery, max_rank);
}

}  // namespace fgreid::eval
