#pragma once
#include <fgreid/losses/center.hpp>

#include <tuple>
#include <type_traits>

namespace fgreid::losses {

/// OSM + CAA (Xu et al.'s orthogonal-similarity metric with class-aware attention), as the
/// FGReID seed computes it on the L2-normalised embedding x:
///   d_ij = sqrt(max(‖x_i − x_j‖², 1e-12)),
///   S_ij = exp(−d_ij²/σ²) for same-identity pairs, S⁻_ij = max(α − d_ij, 1e-12) otherwise,
///   a_i = softmax_c(x_i · ĉ_c)[y_i] over the L2-normalised class centers ĉ, A_ij = min(a_i, a_j),
///   W = S·A without the diagonal, split into W⁺ (same identity) and W⁻,
///   L = (1 − l)·½ΣW⁺d²/ΣW⁺ + l·½ΣW⁻(S⁻)²/ΣW⁻.
/// The centers are those of the CenterLoss in the same `Losses<...>` (the seed passes
/// `criterion_center_loss.centers`, although its docstring speaks of classifier weights):
/// the composite links them when it is built; a lone OsmCaa gets them from `use_centers`.
class OsmCaa {
 public:
  static constexpr std::string_view name = "loss: OSM + class-aware attention";
  struct Options {
    /// Margin α of the negative similarity max(α − d, 0) (the seed's tuned value).
    double osm_alpha = 2.0708620427781153;
    /// Bandwidth σ of the positive similarity exp(−d²/σ²) (the seed's tuned value).
    double osm_sigma = 0.1985923780643122;
    /// Share l of the negative part in (1 − l)·L⁺ + l·L⁻ (the seed's tuned value).
    double osm_l = 0.483491099945938;
    /// β of the seed's total: OSM+CAA weighs β and the cosine triplet 1 − β (one flag sets both).
    double beta_ratio = 0.14033231327559872;
    /// Let OSM's gradient reach the shared centers, as the seed does (then also scaled by 1/center-weight in their step); false = the attention only reads them (detached).
    bool osm_trains_centers = true;
    FGREID_REFLECT(Options, osm_alpha, osm_sigma, osm_l, beta_ratio, osm_trains_centers);
  };

  OsmCaa(Options options, const LossContext&) : options_(options) {}

  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) const;

  /// Reads the class centers [classes, D] from `centers` (the handle is kept, not copied).
  void use_centers(torch::Tensor centers) { centers_ = std::move(centers); }

  /// Called by `Losses<...>` once all parts are built: takes the centers of its CenterLoss.
  template <class... Parts>
  void link(std::tuple<Parts...>& parts) {
    static_assert((std::is_same_v<Parts, CenterLoss> + ... + 0) == 1,
                  "OsmCaa's class-aware attention reads the centers of a losses::CenterLoss: "
                  "put exactly one CenterLoss in the same losses::Losses<...> "
                  "(--center-weight 0 keeps its centers without its term).");
    use_centers(std::get<CenterLoss>(parts).centers());
  }

 private:
  Options options_;
  torch::Tensor centers_;
};

}  // namespace fgreid::losses
