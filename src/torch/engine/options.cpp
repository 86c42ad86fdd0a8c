#include <fgreid/engine/options.hpp>

namespace fgreid::engine {

data::Pipeline DataOptions::pipeline(bool train) const {
  return data::Pipeline(height, width, augment, train);
}

}  // namespace fgreid::engine
