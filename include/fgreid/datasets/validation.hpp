#pragma once
// A validation split carved out of the training identities, for hyperparameter search that
// never sees the test set (the seed's `market_sub`): a seeded random fraction of the training
// ids is held out; their images are the queries, and the gallery is their images plus every
// image of the ids that still train (the evaluator drops each query's same-camera matches,
// itself included). The official query and gallery are not used.
#include <fgreid/datasets/splits.hpp>
#include <fgreid/options.hpp>

#include <cstdint>
#include <vector>

namespace fgreid::datasets {

/// The Options of a dataset whose only knob is the validation split (Market-1501,
/// DukeMTMC-reID, VeRi-776, VRIC, MARS, DukeMTMC-VideoReID), and a nested group of the others'
/// (their `held_out`).
struct ValidationOptions {
  /// Hold out this fraction of the training identities as query/gallery (hyperparameter search, the seed's market_sub and *_subset); 0: the release's test split.
  double validation = 0.0;
  /// Seed of the draw of the held-out training identities (--validation).
  std::int64_t validation_seed = 1;
  FGREID_REFLECT(ValidationOptions, validation, validation_seed);
};

/// The held-out ids: floor(fraction × N) of the distinct `train_pids`, drawn by a seeded
/// Fisher–Yates shuffle of the ascending ids (mt19937_64, raw output only, so the same on
/// every platform); returned ascending. UsageError when the fraction is not in (0, 1) or holds
/// out no id, or every id.
[[nodiscard]] std::vector<std::int64_t> draw_validation_ids(std::vector<std::int64_t> train_pids,
                                                            const ValidationOptions& split);

/// Finishes a loaded release: `train` holds the release's ids. Without a validation fraction
/// the official query/gallery are kept; with one, they are replaced by the held-out split
/// described above, and `info["validation"]` records it. Training pids are then relabelled
/// 0..N-1 in ascending order of the release's ids.
[[nodiscard]] Splits finish_splits(std::vector<Entry> train, std::vector<Entry> query,
                                   std::vector<Entry> gallery, const ValidationOptions& split);

}  // namespace fgreid::datasets
