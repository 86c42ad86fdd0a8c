#include <fgreid/detail/canvas.hpp>
#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/engine/checkpoint_sweep.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/suite.hpp>

#include <fmt/format.h>
#include <opencv2/core.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <set>

namespace fgreid::engine {

namespace {

/// n of epoch_<n>.pt.
std::optional<int> epoch_of_name(const std::filesystem::path& file) {
  static const std::regex pattern(R"(epoch_(\d+)\.pt)");
  std::smatch match;
  const auto name = file.filename().string();
  if (!std::regex_match(name, match, pattern)) return std::nullopt;
  return std::stoi(match[1].str());
}

/// The runs of a suite result as the table names them: {key in the result, row name}.
constexpr std::array<std::pair<const char*, const char*>, 4> kRuns{
    {{"", "plain"}, {"rerank", "rerank"}, {"st_reid", "st"}, {"st_reid_rerank", "st+rerank"}}};

}  // namespace

std::vector<std::filesystem::path> checkpoint_files(const std::filesystem::path& folder) {
  if (!std::filesystem::is_directory(folder))
    throw DataError(fmt::format("{}: --checkpoints needs a run folder", folder.string()));
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().extension() == ".pt") files.push_back(entry.path());
  if (files.empty()) throw DataError(fmt::format("{}: holds no checkpoint (*.pt)", folder.string()));
  // epoch_<n>.pt by n, then the others (best.pt, last.pt) by name.
  std::ranges::sort(files, [](const auto& a, const auto& b) {
    const auto ea = epoch_of_name(a), eb = epoch_of_name(b);
    if (ea.has_value() != eb.has_value()) return ea.has_value();
    if (ea && *ea != *eb) return *ea < *eb;
    return a.filename() < b.filename();
  });
  return files;
}

std::vector<SweepRow> sweep_rows(const nlohmann::json& metrics, const SweepRow& head) {
  std::vector<SweepRow> rows;
  for (const auto& [key, name] : kRuns) {
    const auto& run = std::string_view(key).empty() ? metrics : metrics.value(key, nlohmann::json());
    if (!run.is_object() || !run.contains("mAP")) continue;
    SweepRow row = head;
    row.run = name;
    row.rank1 = run.value("rank1", 0.0), row.rank5 = run.value("rank5", 0.0);
    row.rank10 = run.value("rank10", 0.0), row.mAP = run.value("mAP", 0.0), row.mINP = run.value("mINP", 0.0);
    rows.push_back(row);
  }
  return rows;
}

std::string sweep_table(std::span<const SweepRow> rows) {
  std::string out = fmt::format("{:<16} {:>5}  {:<8} {:<9} {:<9} {:>7} {:>7} {:>7} {:>7} {:>7}\n", "checkpoint",
                                "epoch", "features", "metric", "run", "rank-1", "rank-5", "rank-10", "mAP", "mINP");
  for (const auto& r : rows)
    out += fmt::format("{:<16} {:>5}  {:<8} {:<9} {:<9} {:>7.4f} {:>7.4f} {:>7.4f} {:>7.4f} {:>7.4f}\n",
                       r.checkpoint, r.epoch, r.features, r.metric, r.run, r.rank1, r.rank5, r.rank10, r.mAP,
                       r.mINP);
  return out;
}

std::string sweep_csv(std::span<const SweepRow> rows) {
  std::string out = "checkpoint,epoch,features,metric,run,rank1,rank5,rank10,mAP,mINP\n";
  for (const auto& r : rows)
    out += fmt::format("{},{},{},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f}\n", r.checkpoint, r.epoch, r.features,
                       r.metric, r.run, r.rank1, r.rank5, r.rank10, r.mAP, r.mINP);
  return out;
}

void write_sweep_plot(const std::filesystem::path& png, std::span<const SweepRow> rows) {
  detail::LinePanel rank1{"Rank-1 over epochs", "epoch", {}}, map{"mAP over epochs", "epoch", {}};
  std::map<std::string, std::size_t> line_of;
  std::set<std::pair<std::string, int>> drawn;  // (line, epoch): one point each
  for (const auto& row : rows) {
    const auto label = fmt::format("{} {} {}", row.features, row.metric, row.run);
    if (!drawn.emplace(label, row.epoch).second) continue;
    auto [it, added] = line_of.try_emplace(label, rank1.series.size());
    if (added) {
      rank1.series.push_back({label, {}, {}});
      map.series.push_back({label, {}, {}});
    }
    rank1.series[it->second].x.push_back(row.epoch), rank1.series[it->second].y.push_back(row.rank1);
    map.series[it->second].x.push_back(row.epoch), map.series[it->second].y.push_back(row.mAP);
  }
  constexpr int kWidth = 1000, kPanelHeight = 420;
  cv::Mat image(2 * kPanelHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  detail::draw_line_panel(image, {0, 0, kWidth, kPanelHeight}, rank1);
  detail::draw_line_panel(image, {0, kPanelHeight, kWidth, kPanelHeight}, map);
  detail::write_png(png, image);
}

namespace {

/// Every way of evaluating one checkpoint's two feature views.
std::vector<SweepRow> evaluate_views(const std::array<eval::FeatureSet, 2>& views, const Settings& settings,
                                     SweepRow head) {
  std::vector<SweepRow> rows;
  const bool st = eval::st_reid_unavailable(views[0]).empty();
  for (std::size_t v = 0; v < views.size(); ++v) {
    head.features = v == 0 ? "raw" : "flip+L2";
    for (const auto metric : {eval::Metric::euclidean, eval::Metric::cosine}) {
      head.metric = metric == eval::Metric::euclidean ? "euclidean" : "cosine";
      auto suite = settings.suite;
      suite.rerank = true;
      suite.st_reid = st && metric == eval::Metric::cosine;  // st-ReID fuses cosine similarity
      suite.single_shot_repeats = 0;
      suite.cmc_plot.clear(), suite.roc = false;
      const auto result = eval::run_suite(views[v], metric, std::max(settings.eval.max_rank, 10), suite,
                                          settings.rerank, settings.st,
                                          static_cast<std::uint64_t>(settings.run.seed));
      const auto more = sweep_rows(result.metrics, head);
      rows.insert(rows.end(), more.begin(), more.end());
    }
  }
  return rows;
}

}  // namespace

int evaluate_checkpoints(const Job& job, Parts& parts, const eval::Evaluator& evaluator, torch::Device device) {
  const auto& settings = job.settings;
  const auto files = checkpoint_files(settings.run.checkpoints);
  const auto output = settings.run.output.empty() ? settings.run.checkpoints : settings.run.output;
  std::filesystem::create_directories(output);
  std::vector<SweepRow> rows;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto& model = *parts.model;
    const auto meta = load_for_evaluation(files[i], model, job.model_name);
    model.to(device);
    SweepRow head{.checkpoint = files[i].filename().string(), .epoch = meta.value("epoch", epoch_of_name(files[i]).value_or(0))};
    const auto found = evaluate_views(evaluator.feature_views(model, device), settings, head);
    rows.insert(rows.end(), found.begin(), found.end());
    fmt::print(stderr, "[fgreid] checkpoint {}/{} {} (epoch {}): {} ways in {:.1f} s\n", i + 1, files.size(),
               head.checkpoint, head.epoch, found.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  fmt::print("{}", sweep_table(rows));
  std::fflush(stdout);
  write_file_atomically(output / "checkpoints.csv", sweep_csv(rows));
  write_sweep_plot(output / "checkpoints.png", rows);
  fmt::print(stderr, "[fgreid] {} and {} written\n", (output / "checkpoints.csv").string(),
             (output / "checkpoints.png").string());
  return 0;
}

}  // namespace fgreid::engine
