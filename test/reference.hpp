#pragma once
// Helpers for the tests that check fgreid against Python references: random ranking cases,
// binary arrays in the layout test/reference/torchreid_reference.py reads, and running a
// reference script with FGREID_PYTHON.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace fgreid::test {

/// A query x gallery distance matrix (row-major) with the labels of its rows and columns.
struct RankingCase {
  std::vector<float> distances;
  std::vector<std::int64_t> query_pids, query_camids, gallery_pids, gallery_camids;
};

/// Distances a shuffled 0..Nq·Ng-1, so no two tie (exact in float32); pids uniform in
/// [0, identities), cameras uniform in [first_camid, last_camid].
inline RankingCase random_ranking_case(std::size_t num_query, std::size_t num_gallery, int identities,
                                       std::int64_t first_camid, std::int64_t last_camid,
                                       std::uint32_t seed) {
  std::mt19937 random(seed);
  RankingCase c;
  c.distances.resize(num_query * num_gallery);
  std::iota(c.distances.begin(), c.distances.end(), 0.0f);
  std::ranges::shuffle(c.distances, random);
  std::uniform_int_distribution<std::int64_t> pid(0, identities - 1), camid(first_camid, last_camid);
  for (std::size_t q = 0; q < num_query; ++q) {
    c.query_pids.push_back(pid(random));
    c.query_camids.push_back(camid(random));
  }
  for (std::size_t g = 0; g < num_gallery; ++g) {
    c.gallery_pids.push_back(pid(random));
    c.gallery_camids.push_back(camid(random));
  }
  return c;
}

/// `values` as raw native-endian bytes, what numpy's fromfile reads.
template <typename T>
void write_binary(const std::filesystem::path& path, const std::vector<T>& values) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(values.data()),
             static_cast<std::streamsize>(values.size() * sizeof(T)));
}

/// `count` values written by numpy's tofile.
template <typename T>
std::vector<T> read_binary(const std::filesystem::path& path, std::size_t count) {
  std::vector<T> values(count);
  std::ifstream(path, std::ios::binary)
      .read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(count * sizeof(T)));
  return values;
}

/// Writes `c` into `folder` as torchreid_reference.read_case reads it: distances.f32, the four
/// label .i64 files and meta.json (nq, ng and the entries of `meta`).
inline void write_ranking_case(const TempDir& folder, const RankingCase& c, nlohmann::json meta) {
  write_binary(folder / "distances.f32", c.distances);
  write_binary(folder / "query_pids.i64", c.query_pids);
  write_binary(folder / "query_camids.i64", c.query_camids);
  write_binary(folder / "gallery_pids.i64", c.gallery_pids);
  write_binary(folder / "gallery_camids.i64", c.gallery_camids);
  meta["nq"] = c.query_pids.size();
  meta["ng"] = c.gallery_pids.size();
  std::ofstream(folder / "meta.json") << meta.dump();
}

/// Runs the Python `script` with FGREID_PYTHON and `folder` as its one argument, with
/// test/reference/ importable; requires it to succeed and returns its last output line as JSON.
inline nlohmann::json run_python_reference(const std::string& script, const TempDir& folder) {
  const auto path = folder / "reference.py";
  std::ofstream(path) << "import sys\nsys.path.insert(0, "
                      << nlohmann::json(std::string(FGREID_SOURCE_DIR) + "/test/reference").dump()
                      << ")\n"
                      << script;
  const auto result = run_command(std::string(FGREID_PYTHON) + " " + path.string() + " " +
                                  folder.path().string());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  return nlohmann::json::parse(last_line(result.out));
}

}  // namespace fgreid::test
