#pragma once
// The features file: what `--extract` writes and `fgreid_eval` reads. A zip-format pickle
// that Python reads with `torch.load(path)` (weights_only=True too) and writes with
// `torch.save(dict, path)`, holding one plain dict:
//   query_features [Nq, D] float32     gallery_features [Ng, D] float32
//   query_pids, query_camids [Nq] int64   gallery_pids, gallery_camids [Ng] int64
//   query_frames [Nq] int64, gallery_frames [Ng] int64   (optional)
//   train_pids, train_camids, train_frames [Nt] int64     (optional, all three or none: the
//                                                          training set's st-ReID histograms)
#include <torch/torch.h>

#include <filesystem>
#include <optional>

namespace fgreid::eval {

struct FeatureSet {
  torch::Tensor query_features, gallery_features;
  torch::Tensor query_pids, gallery_pids;
  torch::Tensor query_camids, gallery_camids;
  std::optional<torch::Tensor> query_frames, gallery_frames;
  /// The training set's labels, cameras and frames, for st-ReID (--st-reid) offline.
  std::optional<torch::Tensor> train_pids, train_camids, train_frames;
};

/// Writes `features` (moved to the CPU, features as float32, labels as int64) through a
/// temporary file and a rename. Throws std::invalid_argument on a set whose shapes do not
/// fit together, DataError when the file cannot be written.
void save_features(const std::filesystem::path& path, const FeatureSet& features);

/// Reads a features file (ours or Python's). Float features of another precision become
/// float32 and integer labels int64; anything else missing, misshapen, empty, non-finite or
/// unreadable is a DataError whose message starts with `path`.
[[nodiscard]] FeatureSet load_features(const std::filesystem::path& path);

}  // namespace fgreid::eval
