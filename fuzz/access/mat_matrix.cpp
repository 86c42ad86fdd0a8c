// read_mat_matrix as a dataset load runs it, reached from fuzz_mat73 (access.hpp): v7.3 files
// go to matio in a child process, whose coverage is brought back to libFuzzer.
#include "../../src/core/datasets/mat_numeric.cpp"

#include "access.hpp"
#include "fuzz_input.hpp"

namespace fgreid::fuzz {

void mat_matrix(const std::filesystem::path& file, std::string_view variable) {
  if (!datasets::is_hdf5_mat(file)) {
    (void)datasets::read_mat_matrix(file, variable);
    return;
  }
  // read_mat_matrix's v7.3 branch, with the child's coverage brought back.
  static const ChildCoverage coverage;
  (void)datasets::decode(coverage.read_in_child(
      file, "matio (HDF5)", [&] { return datasets::encode(datasets::read_with_matio(file, variable)); }));
}

}  // namespace fgreid::fuzz
