#pragma once
// What every dataset policy produces: train / query / gallery entries with identities,
// cameras and (where the release has them) frame numbers.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace fgreid::datasets {

/// One re-ID sample: a single image, or a tracklet's frames in temporal order.
struct Entry {
  std::vector<std::filesystem::path> images;
  /// Train: relabelled 0..N-1 in ascending order of the release's ids. Query/gallery: the
  /// release's id (0 = distractor, kept as an identity of its own).
  std::int64_t pid = 0;
  /// 0-based camera index.
  std::int64_t camid = 0;
  /// Time stamp in frames, comparable across one camera's sequences; -1 when unknown.
  std::int64_t frame = -1;
};

/// Another query/gallery draw over the same test images (VehicleID's repeated gallery draws).
struct EvaluationTrial {
  std::vector<Entry> query, gallery;
};

struct Splits {
  std::vector<Entry> train, query, gallery;
  /// Further draws whose metrics are averaged with those of query/gallery at each evaluation;
  /// empty for datasets with one fixed split.
  std::vector<EvaluationTrial> trials;
  /// Dataset-specific split information shown by --summary (split index, seeds, files read).
  nlohmann::json info = nlohmann::json::object();

  [[nodiscard]] std::int64_t num_train_ids() const;
};

/// `{"train":{"ids":..,"images":..,"cameras":..},"query":{..},"gallery":{..}}` plus `info`
/// under "split" when it is not empty. Counts follow torchreid: ids = distinct pids,
/// cameras = distinct camids, images = entries (tracklets for video datasets are counted by
/// `summarize_video`, added with the video datasets).
[[nodiscard]] nlohmann::json summarize(const Splits& splits);

}  // namespace fgreid::datasets
