#pragma once
#include <fgreid/losses/concept.hpp>

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

}  // namespace fgreid::losses
