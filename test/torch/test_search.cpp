// fgreid_search: exact top-K over a gallery streamed in blocks, checked against numpy's brute
// force and torchreid's re-ranking; the tool's outputs and its refusals.
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/npy.hpp>
#include <fgreid/eval/pictures.hpp>
#include <fgreid/eval/search.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "reference.hpp"
#include "support.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ev = fgreid::eval;
using fgreid::test::TempDir;

const std::string kSearch = std::string(FGREID_BINARY_DIR) + "/fgreid_search";

torch::Tensor read_npy(const fs::path& file) {
  ev::NpyReader reader(file);
  auto rows = torch::empty({reader.rows(), reader.cols()});
  reader.read(0, std::span<float>(rows.data_ptr<float>(), static_cast<std::size_t>(rows.numel())));
  return rows;
}

std::vector<std::vector<std::int64_t>> as_lists(const torch::Tensor& indices) {
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t q = 0; q < indices.size(0); ++q) {
    const auto row = indices[q].contiguous();
    out.emplace_back(row.data_ptr<std::int64_t>(), row.data_ptr<std::int64_t>() + row.numel());
  }
  return out;
}

// numpy's brute force: every distance in float64, a stable argsort, the first K.
const std::string kBruteForce = R"(
import json, numpy as np
folder = sys.argv[1]
rng = np.random.default_rng(7)
q = rng.standard_normal((9, 16)).astype(np.float32)
g = rng.standard_normal((1000, 16)).astype(np.float32)
np.save(f'{folder}/q.npy', q); np.save(f'{folder}/g.npy', g)
q64, g64 = q.astype(np.float64), g.astype(np.float64)
euclidean = (q64 ** 2).sum(1)[:, None] + (g64 ** 2).sum(1)[None, :] - 2 * q64 @ g64.T
unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
cosine = 1 - unit(q64) @ unit(g64).T
out = {}
for name, d in (('euclidean', euclidean), ('cosine', cosine)):
    order = np.argsort(d, axis=1, kind='stable')[:, :5]
    out[name] = {'indices': order.tolist(), 'distances': np.take_along_axis(d, order, 1).tolist()}
print(json.dumps(out))
)";

}  // namespace

TEST_CASE("streamed top-K search equals numpy's brute force, whatever the block size") {
  TempDir dir;
  const auto expected = fgreid::test::run_python_reference(kBruteForce, dir);
  const auto query = read_npy(dir / "q.npy");
  ev::NpyReader gallery(dir / "g.npy");
  for (const auto metric : {ev::Metric::euclidean, ev::Metric::cosine}) {
    const auto& reference = expected[metric == ev::Metric::euclidean ? "euclidean" : "cosine"];
    const auto distances =
        torch::tensor(reference["distances"].get<std::vector<std::vector<double>>>()[0], torch::kDouble);
    for (const std::int64_t block : {3, 64, 1000, 4096}) {
      CAPTURE(block);
      std::int64_t calls = 0;
      const auto best = ev::search_top_k(query, gallery, 5, metric, torch::kCPU, block,
                                         [&](std::int64_t done, std::int64_t total) {
                                           ++calls;
                                           CHECK(total == 1000);
                                           CHECK(done <= total);
                                         });
      CHECK(calls == (1000 + block - 1) / block);
      CHECK(as_lists(best.indices) == reference["indices"].get<std::vector<std::vector<std::int64_t>>>());
      CHECK(torch::allclose(best.distances[0].to(torch::kDouble), distances, 1e-5, 1e-5));
    }
    // The same numbers as the evaluation's distance matrix.
    const auto all = ev::pairwise_distances(query, read_npy(dir / "g.npy"), metric);
    const auto from_matrix = ev::top_k_of(all, 5);
    CHECK(as_lists(from_matrix.indices) == reference["indices"].get<std::vector<std::vector<std::int64_t>>>());
  }
  CHECK(ev::search_top_k(query, gallery, 2000, ev::Metric::euclidean, torch::kCPU, 300).indices.size(1) == 1000);
}

TEST_CASE("re-ranked search equals the top K of torchreid's re_ranking") {
  TempDir dir;
  const auto expected = fgreid::test::run_python_reference(R"(
import json, numpy as np
from torchreid_reference import re_ranking
folder = sys.argv[1]
rng = np.random.default_rng(3)
q = rng.standard_normal((6, 8)).astype(np.float32)
g = rng.standard_normal((40, 8)).astype(np.float32)
np.save(f'{folder}/q.npy', q); np.save(f'{folder}/g.npy', g)
def euclidean(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.sqrt(np.maximum((a ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2 * a @ b.T, 0))
final = re_ranking(euclidean(q, g), euclidean(q, q), euclidean(g, g), k1=20, k2=6, lambda_value=0.3)
print(json.dumps({'indices': np.argsort(final, axis=1, kind='stable')[:, :5].tolist()}))
)", dir);
  const auto best = ev::rerank_top_k(read_npy(dir / "q.npy"), read_npy(dir / "g.npy"), 5,
                                     ev::Metric::euclidean, ev::RerankOptions{});
  CHECK(as_lists(best.indices) == expected["indices"].get<std::vector<std::vector<std::int64_t>>>());
}

TEST_CASE("fgreid_search writes ranked lists and a grid, and refuses what does not fit") {
  TempDir dir;
  (void)fgreid::test::run_python_reference(R"(
import json, numpy as np
folder = sys.argv[1]
rng = np.random.default_rng(5)
np.save(f'{folder}/q.npy', rng.standard_normal((3, 4)).astype(np.float32))
np.save(f'{folder}/g.npy', rng.standard_normal((6, 4)).astype(np.float32))
np.save(f'{folder}/wide.npy', rng.standard_normal((6, 5)).astype(np.float32))
print('{}')
)", dir);
  std::ofstream paths(dir / "g.paths.txt");
  for (int i = 0; i < 6; ++i) {
    const auto image = dir / ("g" + std::to_string(i) + ".png");
    cv::imwrite(image.string(), cv::Mat(40, 20, CV_8UC3, cv::Scalar(30 * i, 100, 200 - 30 * i)));
    paths << image.string() << "\n";
  }
  paths.close();
  std::ofstream q_paths(dir / "q.paths.txt");
  for (const auto* name : {"q0.png", "q1.png", "q2.png"}) {
    cv::imwrite((dir / name).string(), cv::Mat(40, 20, CV_8UC3, cv::Scalar(0, 0, 0)));
    q_paths << (dir / name).string() << "\n";
  }
  q_paths.close();
  ev::NpyReader gallery(dir / "g.npy");
  const auto expected = ev::search_top_k(read_npy(dir / "q.npy"), gallery, 3, ev::Metric::cosine, torch::kCPU, 2);
  const auto base = kSearch + " --query " + (dir / "q.npy").string() + " --gallery " + (dir / "g.npy").string() +
                    " --top-k 3 --metric cosine --device cpu";

  SUBCASE("JSON lines with paths, ranks and distances, and the grid") {
    const auto r = fgreid::test::run_command(base + " --output " + (dir / "out.jsonl").string() + " --grid " +
                                             (dir / "grid.png").string() + " --grid-queries 2");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    std::ifstream in(dir / "out.jsonl");
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() == 9);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto q = static_cast<std::int64_t>(i / 3), k = static_cast<std::int64_t>(i % 3);
      CHECK(lines[i]["query"] == (dir / ("q" + std::to_string(q) + ".png")).string());
      CHECK(lines[i]["rank"] == k + 1);
      CHECK(lines[i]["gallery"] ==
            (dir / ("g" + std::to_string(expected.indices[q][k].item<std::int64_t>()) + ".png")).string());
      CHECK(lines[i]["distance"].get<double>() == doctest::Approx(expected.distances[q][k].item<double>()));
    }
    const auto grid = cv::imread((dir / "grid.png").string());
    const auto [width, height] = ev::rank_grid_size(2, 3);
    CHECK(grid.cols == width);
    CHECK(grid.rows == height);
  }
  SUBCASE("CSV with a header") {
    const auto r = fgreid::test::run_command(base + " --output " + (dir / "out.csv").string());
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    std::ifstream in(dir / "out.csv");
    std::string header, first;
    std::getline(in, header);
    std::getline(in, first);
    CHECK(header == "query,rank,gallery,distance");
    CHECK(first.starts_with((dir / "q0.png").string() + ",1," +
                            (dir / ("g" + std::to_string(expected.indices[0][0].item<std::int64_t>()) + ".png")).string()));
  }
  SUBCASE("features of another dimension: the file is named, nothing is written") {
    fs::copy_file(dir / "g.paths.txt", dir / "wide.paths.txt");
    const auto r = fgreid::test::run_command(kSearch + " --query " + (dir / "q.npy").string() + " --gallery " +
                                             (dir / "wide.npy").string() + " --output " + (dir / "out.jsonl").string());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("wide.npy: 5-D gallery features, but the queries are 4-D") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out.jsonl"));
  }
  SUBCASE("a paths file of another length is named") {
    std::ofstream(dir / "q.paths.txt") << "only-one.png\n";
    const auto r = fgreid::test::run_command(base);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("q.paths.txt: 1 paths, but") != std::string::npos);
  }
  SUBCASE("a missing file and a bad flag") {
    auto r = fgreid::test::run_command(kSearch + " --query " + (dir / "none.npy").string() + " --gallery " +
                                       (dir / "g.npy").string());
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("none.npy: no such features file") != std::string::npos);
    r = fgreid::test::run_command(kSearch + " --query " + (dir / "q.npy").string() + " --gallery " +
                                  (dir / "g.npy").string() + " --top-k 0");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--top-k 0") != std::string::npos);
  }
}
