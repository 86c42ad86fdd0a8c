#include <fgreid/error.hpp>
#include <fgreid/eval/suite_options.hpp>

#include <fmt/format.h>

#include <cmath>
#include <string_view>

namespace fgreid::eval {

void SuiteOptions::check(const RerankOptions& reranking, const StReidOptions& st) const {
  auto refuse = [](std::string_view flag, auto value, std::string_view rule) {
    throw UsageError(fmt::format("--{} {}: must be {}", flag, value, rule));
  };
  const auto& [k1, k2, lambda] = reranking;
  if (k1 < 1 || k1 > 1000) refuse("k1", k1, "in 1..1000");
  if (k2 < 1 || k2 > k1 + 1) refuse("k2", k2, fmt::format("in 1..k1+1 ({})", k1 + 1));
  if (!(lambda >= 0 && lambda <= 1)) refuse("lambda", lambda, "in [0, 1]");
  if (single_shot_repeats < 0) refuse("single-shot-repeats", single_shot_repeats, "0 (off) or more");
  if (!(st.st_bin_frames > 0)) refuse("st-bin-frames", st.st_bin_frames, "positive");
  if (st.st_bins < 1) refuse("st-bins", st.st_bins, "at least 1");
  if (!(st.st_smoothing >= 0)) refuse("st-smoothing", st.st_smoothing, "0 or more");
  if (aqe_k < 0) refuse("aqe-k", aqe_k, "0 (off) or more");
  if (aqe_times < 1) refuse("aqe-times", aqe_times, "at least 1");
  if (!std::isfinite(aqe_alpha)) refuse("aqe-alpha", aqe_alpha, "finite");
}

}  // namespace fgreid::eval
