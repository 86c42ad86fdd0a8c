#pragma once
// What one sample is, for a dataset (what its entries hold) and for a model (what its forward
// takes). A recipe's dataset and model must agree; Experiment checks it at compile time.
#include <fgreid/enum_names.hpp>

#include <array>
#include <string_view>

namespace fgreid {

enum class Modality {
  /// One image: an entry holds one file; a model takes [B, 3, H, W].
  image,
  /// A tracklet: an entry holds its frames in order; a model takes clips [B, T, 3, H, W].
  video,
};

template <>
struct EnumNames<Modality> {
  static constexpr std::array<std::string_view, 2> values{"image", "video"};
};

}  // namespace fgreid
