// GRID's partitions reader (.mat v5), reached from fuzz_mat5 (access.hpp).
#include "../../src/core/datasets/grid.cpp"

#include "access.hpp"

namespace fgreid::fuzz {

void grid_partitions(const std::filesystem::path& file, int split_index) {
  (void)datasets::read_train_ids(file, split_index);
}

}  // namespace fgreid::fuzz
