#pragma once
#include <fgreid/losses/concept.hpp>
#include <fgreid/losses/result.hpp>

#include <tuple>

namespace fgreid::losses {

/// Composite loss: the sum of its parts' weighted totals, reporting every part's terms.
///   using Loss = losses::Losses<losses::LabelSmoothCE, losses::Triplet>;
/// Each part keeps its own Options (and --help group); weights live in the parts.
template <Loss... Parts>
  requires(sizeof...(Parts) > 0)
class Losses {
 public:
  static constexpr std::string_view name = "losses";
  struct Options {
    std::tuple<typename Parts::Options...> parts;
    FGREID_REFLECT_NOTHING();
  };
  using PartList = std::tuple<Parts...>;

  Losses(Options options, const LossContext& context)
      : parts_(std::apply(
            [&](const auto&... o) { return std::tuple<Parts...>{Parts(o, context)...}; },
            options.parts)) {
    // A part that reads another part's state (OsmCaa reads CenterLoss's centers) links to it
    // once all are built; parts hold tensor handles, so copies of the composite stay linked.
    std::apply([this](auto&... part) { (link(part), ...); }, parts_);
  }

  LossResult operator()(const models::TrainOutput& output, const torch::Tensor& labels) {
    LossResult sum;
    std::apply(
        [&](auto&... part) {
          (
              [&] {
                LossResult r = part(output, labels);
                sum.total = sum.total.defined() ? sum.total + r.total : r.total;
                for (auto& term : r.terms) sum.terms.push_back(std::move(term));
              }(),
              ...);
        },
        parts_);
    return sum;
  }

  /// The parts, for losses with state of their own (e.g. centers with their optimiser).
  std::tuple<Parts...>& parts() { return parts_; }

 private:
  template <class Part>
  void link(Part& part) {
    if constexpr (requires { part.link(parts_); }) part.link(parts_);
  }

  std::tuple<Parts...> parts_;
};

namespace detail {
template <class L>
concept HasPartTuple = requires(L loss) { std::get<0>(loss.parts()); };
}  // namespace detail

/// Calls `visit(part)` for every part of `loss` (the loss itself, or each part of a composite
/// `Losses<...>`) that has its own optimiser (OwnOptimizerLoss):
///   losses::for_each_own_optimizer(loss, [&](auto& part) { part.to(device); });
///   ... total.backward(); model_optimizer.step();
///   losses::for_each_own_optimizer(loss, [](auto& part) { part.step(); });
template <class L, class Visit>
void for_each_own_optimizer(L& loss, Visit&& visit) {
  if constexpr (OwnOptimizerLoss<L>) {
    visit(loss);
  } else if constexpr (detail::HasPartTuple<L>) {
    std::apply([&](auto&... part) { (for_each_own_optimizer(part, visit), ...); }, loss.parts());
  }
}

}  // namespace fgreid::losses
