#pragma once
#include <cstdint>

namespace fgreid::losses {

/// What a loss policy needs to know to build its state (e.g. class centers).
struct LossContext {
  std::int64_t num_classes = 0;
  std::int64_t feature_dim = 0;
};

}  // namespace fgreid::losses
