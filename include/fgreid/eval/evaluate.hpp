#pragma once
// Features in, ranking metrics out: the evaluation both the recipes and fgreid_eval run.
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/features_file.hpp>

#include <nlohmann/json.hpp>

namespace fgreid::eval {

/// pairwise_distances() of the set's features, then evaluate_market() on its labels; the
/// result is to_json() of the metrics.
[[nodiscard]] nlohmann::json evaluate_features(const FeatureSet& features, Metric metric,
                                               int max_rank = 50);

}  // namespace fgreid::eval
