#pragma once
// Verification view of a ranking (fast-reid's TEST.ROC): every query-gallery pair but those of
// the same identity and camera, a genuine pair when the identities agree, an impostor pair
// otherwise; accepting pairs closer than a threshold gives the true-positive rate (genuine
// pairs accepted) at a false-positive rate (impostor pairs accepted). No LibTorch.
//
// fast-reid feeds sklearn's roc_curve with impostors as the positive class and the distance as
// the score, so its "TPR@FPR" reads 1 − FAR at 1 − TAR; this is the usual orientation, TAR at FAR.
#include <fgreid/eval/metrics.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <filesystem>
#include <span>
#include <vector>

namespace fgreid::eval {

/// The ROC curve: one point per distinct distance, ascending, from (0, 0) to (1, 1).
struct RocCurve {
  std::vector<double> fpr, tpr;
  std::size_t genuine_pairs = 0, impostor_pairs = 0;
};

/// The false-positive rates the metrics report TPR at (fast-reid's).
inline constexpr std::array<double, 3> kRocFprs = {1e-4, 1e-3, 1e-2};

/// The ROC of the Nq × Ng `distances` (smaller = more alike). Throws std::invalid_argument on
/// sizes that do not fit the labels or when there is no genuine or no impostor pair.
[[nodiscard]] RocCurve roc_curve(std::span<const float> distances, Labels query, Labels gallery);

/// The highest TPR of a point whose FPR is at most `fpr` (0 when none is).
[[nodiscard]] double tpr_at_fpr(const RocCurve& roc, double fpr);

/// {"TPR@FPR=1e-04": ..., "TPR@FPR=1e-03": ..., "TPR@FPR=1e-02": ..., "auc", "genuine_pairs",
/// "impostor_pairs"}.
[[nodiscard]] nlohmann::json to_json(const RocCurve& roc);

/// Draws TPR over log10 FPR (from 1e-6 or the smallest non-zero FPR) with the kRocFprs marked
/// in the legend, and writes a PNG (DataError when it cannot).
void write_roc_plot(const std::filesystem::path& png, const RocCurve& roc, const std::string& title);

}  // namespace fgreid::eval
