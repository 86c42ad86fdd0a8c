// What --extract-images finds (folders, globs, list files) and the .npy files it writes and
// fgreid_search streams, checked against numpy and hand-built trees.
#include <fgreid/data/inputs.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/npy.hpp>

#include <doctest/doctest.h>

#include "reference.hpp"
#include "support.hpp"

#include <fstream>
#include <numeric>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using fgreid::Modality;
using fgreid::test::TempDir;

void touch(const fs::path& file) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "x";
}

std::string error_of(const auto& action) {
  try {
    action();
  } catch (const fgreid::DataError& error) {
    return error.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("glob patterns match within one name") {
  CHECK(fgreid::data::glob_match("*.jpg", "a.jpg"));
  CHECK(fgreid::data::glob_match("cam?_*.png", "cam1_0001.png"));
  CHECK(fgreid::data::glob_match("*", ""));
  CHECK(fgreid::data::glob_match("a*b*c", "aXbYbc"));
  CHECK_FALSE(fgreid::data::glob_match("*.jpg", "a.jpeg"));
  CHECK_FALSE(fgreid::data::glob_match("cam?_*", "cam12_x"));
  CHECK_FALSE(fgreid::data::glob_match("a*b", "ab_"));
}

TEST_CASE("the user's images are found in a folder, a glob or a list file") {
  TempDir dir;
  for (const auto* name : {"p/b/2.jpg", "p/b/1.PNG", "p/a.jpeg", "p/notes.txt", "p/c/clip/001.jpg",
                           "p/c/clip/002.jpg"})
    touch(dir / name);
  const auto p = dir / "p";

  SUBCASE("a folder: every image under it, sorted") {
    CHECK(fgreid::data::find_inputs(p.string(), Modality::image) ==
          std::vector<fs::path>{p / "a.jpeg", p / "b/1.PNG", p / "b/2.jpg", p / "c/clip/001.jpg",
                                p / "c/clip/002.jpg"});
  }
  SUBCASE("a folder of clips: every folder holding images") {
    CHECK(fgreid::data::find_inputs(p.string(), Modality::video) ==
          std::vector<fs::path>{p, p / "b", p / "c/clip"});
    CHECK(fgreid::data::clip_frames(p / "c/clip") ==
          std::vector<fs::path>{p / "c/clip/001.jpg", p / "c/clip/002.jpg"});
  }
  SUBCASE("a glob: wildcards in any component") {
    CHECK(fgreid::data::find_inputs((p / "*/*.jpg").string(), Modality::image) ==
          std::vector<fs::path>{p / "b/2.jpg"});
    CHECK(fgreid::data::find_inputs((p / "c/*").string(), Modality::video) ==
          std::vector<fs::path>{p / "c/clip"});
  }
  SUBCASE("a list file: paths relative to it, in its order, comments skipped") {
    std::ofstream(dir / "list.txt") << "# mine\np/b/2.jpg\n\n  p/a.jpeg  \n";
    CHECK(fgreid::data::find_inputs((dir / "list.txt").string(), Modality::image) ==
          std::vector<fs::path>{dir / "p/b/2.jpg", dir / "p/a.jpeg"});
  }
  SUBCASE("a list line naming a missing file names the list and the line") {
    std::ofstream(dir / "list.txt") << "p/a.jpeg\np/missing.jpg\n";
    const auto message = error_of([&] { (void)fgreid::data::find_inputs((dir / "list.txt").string(), Modality::image); });
    CHECK(contains(message, "list.txt:2:"));
    CHECK(contains(message, "missing.jpg: no such file"));
  }
  SUBCASE("a source that names nothing is an error naming it") {
    CHECK(contains(error_of([&] { (void)fgreid::data::find_inputs((p / "*.bmp").string(), Modality::image); }),
                   "*.bmp: names no images"));
    CHECK(contains(error_of([&] { (void)fgreid::data::find_inputs((dir / "nowhere").string(), Modality::image); }),
                   "nowhere: no such file, folder or glob"));
    CHECK(contains(error_of([&] { (void)fgreid::data::find_inputs((p / "a.jpeg").string(), Modality::video); }),
                   "this model extracts clips"));
  }
}

TEST_CASE("npy files round-trip through numpy, streamed in blocks of rows") {
  TempDir dir;
  std::vector<float> values(7 * 5);
  std::iota(values.begin(), values.end(), -3.5f);
  {
    fgreid::eval::NpyWriter writer(dir / "ours.npy", 7, 5);
    writer.append(std::span<const float>(values).subspan(0, 10));
    writer.append(std::span<const float>(values).subspan(10));
    writer.commit();
  }
  const auto result = fgreid::test::run_python_reference(R"(
import numpy as np
folder = sys.argv[1]
ours = np.load(f'{folder}/ours.npy')
assert ours.dtype == np.float32 and ours.shape == (7, 5), (ours.dtype, ours.shape)
np.save(f'{folder}/theirs.npy', (ours * 2).astype(np.float32))
np.save(f'{folder}/double.npy', ours.astype(np.float64))
np.save(f'{folder}/flat.npy', ours.reshape(-1))
import json
print(json.dumps({"sum": float(ours.sum()), "first": ours[0].tolist(), "last": ours[6].tolist()}))
)", dir);
  CHECK(result["sum"].get<double>() == doctest::Approx(std::accumulate(values.begin(), values.end(), 0.0)));
  CHECK(result["first"].get<std::vector<float>>() == std::vector<float>(values.begin(), values.begin() + 5));
  CHECK(result["last"].get<std::vector<float>>() == std::vector<float>(values.end() - 5, values.end()));

  fgreid::eval::NpyReader theirs(dir / "theirs.npy");
  REQUIRE(theirs.rows() == 7);
  REQUIRE(theirs.cols() == 5);
  std::vector<float> rows(2 * 5);
  theirs.read(3, rows);
  for (std::size_t i = 0; i < rows.size(); ++i) CHECK(rows[i] == 2 * values[15 + i]);

  CHECK(contains(error_of([&] { fgreid::eval::NpyReader{dir / "double.npy"}; }), "double.npy: dtype '<f8'"));
  CHECK(contains(error_of([&] { fgreid::eval::NpyReader{dir / "flat.npy"}; }), "flat.npy: not a 2-D matrix"));
  CHECK(contains(error_of([&] { fgreid::eval::NpyReader{dir / "none.npy"}; }), "none.npy: no such features file"));
  fs::resize_file(dir / "theirs.npy", fs::file_size(dir / "theirs.npy") - 4);
  CHECK(contains(error_of([&] { fgreid::eval::NpyReader{dir / "theirs.npy"}; }), "theirs.npy: shorter than"));
}

TEST_CASE("an npy writer that is not committed leaves no file behind") {
  TempDir dir;
  {
    fgreid::eval::NpyWriter writer(dir / "half.npy", 4, 2);
    writer.append(std::vector<float>{1, 2, 3, 4});
  }
  CHECK_FALSE(fs::exists(dir / "half.npy"));
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 0);
  fgreid::eval::NpyWriter short_writer(dir / "short.npy", 4, 2);
  short_writer.append(std::vector<float>{1, 2});
  CHECK_THROWS(short_writer.commit());
}
