// CUHK03's protocol (.mat v5) and release (.mat v7.3) readers, reached from fuzz_mat5 and
// fuzz_mat73 (access.hpp).
#include "../../src/core/datasets/cuhk03.cpp"

#include "access.hpp"

namespace fgreid::fuzz {

void cuhk03_protocol(const std::filesystem::path& file) { (void)datasets::read_protocol(file); }

void cuhk03_release(const std::filesystem::path& file, bool labeled, int split_index) {
  const auto images = file.parent_path() / "images";
  std::filesystem::remove_all(images);
  (void)datasets::read_release_in_child(file, labeled ? "labeled" : "detected", split_index, images);
  std::filesystem::remove_all(images);
}

}  // namespace fgreid::fuzz
