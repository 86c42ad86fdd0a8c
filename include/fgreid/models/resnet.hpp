#pragma once
#include <fgreid/models/concept.hpp>
#include <fgreid/models/trunk.hpp>

namespace fgreid::models {

/// Backbone policy: torchvision's ResNet-`Depth` without avgpool/fc, layer4 stride `LastStride`.
///   using Backbone = models::ResNet<50>;       // re-ID's last stride 1: 16×8 maps at 256×128
///   using Backbone = models::ResNet<18, 2>;    // torchvision's own strides
template <int Depth, int LastStride = 1>
struct ResNet {
  static_assert(Depth == 18 || Depth == 34 || Depth == 50 || Depth == 101 || Depth == 152,
                "ResNet<Depth>: torchvision defines depths 18, 34, 50, 101 and 152 only");
  static_assert(LastStride == 1 || LastStride == 2,
                "ResNet<Depth, LastStride>: use 1 (re-ID, larger maps) or 2 (torchvision)");
  static constexpr std::string_view name = "backbone";
  static constexpr std::int64_t channels = Depth >= 50 ? 2048 : 512;
  static constexpr int depth = Depth;
  struct Options {
    FGREID_REFLECT_NOTHING();
  };
  static Trunk build(const Options&) { return Trunk(TrunkOptions{Depth, LastStride}); }
};

}  // namespace fgreid::models
