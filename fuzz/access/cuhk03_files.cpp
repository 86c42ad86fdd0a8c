// CUHK03's protocol (.mat v5) and release (.mat v7.3) readers, reached from fuzz_mat5 and
// fuzz_mat73 (access.hpp).
#include "../../src/core/datasets/cuhk03.cpp"

#include "access.hpp"
#include "fuzz_input.hpp"

namespace fgreid::fuzz {

void cuhk03_protocol(const std::filesystem::path& file) { (void)datasets::read_protocol(file); }

void cuhk03_release(const std::filesystem::path& file, bool labeled, int split_index) {
  const auto images = file.parent_path() / "images";
  std::filesystem::remove_all(images);
  // read_release_in_child, with the child's coverage brought back to libFuzzer.
  static const ChildCoverage coverage;
  const char* boxes = labeled ? "labeled" : "detected";
  (void)coverage.read_in_child(file, "libhdf5", [&] {
    return datasets::encode(datasets::read_release(file, boxes, split_index, images));
  });
}

}  // namespace fgreid::fuzz
