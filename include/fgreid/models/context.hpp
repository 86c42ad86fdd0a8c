#pragma once
#include <cstdint>

namespace fgreid::models {

/// What a model policy needs to know about the data to build its network.
struct ModelContext {
  std::int64_t num_classes = 0;
  std::int64_t height = 256;
  std::int64_t width = 128;
};

}  // namespace fgreid::models
