// CUHK03's protocol (.mat v5) and release (.mat v7.3) readers, reached from fuzz_mat5 and
// fuzz_mat73 (access.hpp).
#include "../../src/core/datasets/cuhk03.cpp"

#include "access.hpp"

namespace fgreid::fuzz {

void cuhk03_protocol(const std::filesystem::path& file) { (void)datasets::read_protocol(file); }

void cuhk03_release(const std::filesystem::path& file, bool labeled, int split_index) {
  const datasets::hdf5::Reader reader(file);
  const char* boxes = labeled ? "labeled" : "detected";
  const auto people = datasets::walk(reader, boxes);
  (void)datasets::classic_test_set(reader, split_index);
  for (const auto& person : people)
    for (const auto& ref : person.refs) (void)reader.image(ref, "image");
}

}  // namespace fgreid::fuzz
