#include <fgreid/error.hpp>
#include <fgreid/eval/distance.hpp>
#include <fgreid/eval/evaluate.hpp>
#include <fgreid/eval/features_file.hpp>
#include <fgreid/eval/metrics.hpp>
#include <fgreid/eval/rerank.hpp>
#include <fgreid/eval/st_reid.hpp>
#include <fgreid/eval/suite.hpp>
#include <opencv2/imgcodecs.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

namespace {

namespace ev = fgreid::eval;
namespace fs = std::filesystem;
using fgreid::test::run_command;

const std::string kEval = std::string(FGREID_BINARY_DIR) + "/fgreid_eval";

/// A small set whose labels give some queries matches in other cameras.
ev::FeatureSet example_set(bool with_frames = true) {
  torch::manual_seed(7);
  ev::FeatureSet set;
  set.query_features = torch::randn({6, 5});
  set.gallery_features = torch::randn({11, 5});
  set.query_pids = torch::tensor({1L, 2L, 3L, 4L, 1L, 2L});
  set.query_camids = torch::tensor({1L, 1L, 2L, 2L, 3L, 3L});
  set.gallery_pids = torch::tensor({1L, 1L, 2L, 2L, 3L, 3L, 4L, 4L, 0L, 0L, 5L});
  set.gallery_camids = torch::tensor({1L, 2L, 1L, 2L, 1L, 3L, 1L, 3L, 1L, 2L, 3L});
  if (with_frames) {
    set.query_frames = torch::arange(6, torch::kLong) * 10;
    set.gallery_frames = torch::arange(11, torch::kLong) * 10;
  }
  return set;
}

/// The message of the DataError `action` throws ("" when it throws none).
template <typename Action>
std::string data_error_of(Action&& action) {
  try {
    action();
  } catch (const fgreid::DataError& error) {
    return error.what();
  }
  return {};
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// A copy of `from` cut to half its bytes, as a crash mid-write by another tool would leave.
void write_truncated(const fs::path& from, const fs::path& to) {
  const std::string bytes = read_all(from);
  std::ofstream(to, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
}

/// Runs a Python snippet with the project's interpreter (which has torch); `argument` is
/// its sys.argv[1].
fgreid::test::CommandResult run_python(const fgreid::test::TempDir& dir, const std::string& code,
                                       const fs::path& argument) {
  const auto script = dir / "snippet.py";
  std::ofstream(script) << code;
  return run_command(std::string(FGREID_PYTHON) + " " + script.string() + " " +
                     argument.string());
}

void check_equal(const ev::FeatureSet& a, const ev::FeatureSet& b) {
  CHECK(torch::equal(a.query_features, b.query_features));
  CHECK(torch::equal(a.gallery_features, b.gallery_features));
  CHECK(torch::equal(a.query_pids, b.query_pids));
  CHECK(torch::equal(a.gallery_pids, b.gallery_pids));
  CHECK(torch::equal(a.query_camids, b.query_camids));
  CHECK(torch::equal(a.gallery_camids, b.gallery_camids));
  REQUIRE(a.query_frames.has_value() == b.query_frames.has_value());
  REQUIRE(a.gallery_frames.has_value() == b.gallery_frames.has_value());
  if (a.query_frames) CHECK(torch::equal(*a.query_frames, *b.query_frames));
  if (a.gallery_frames) CHECK(torch::equal(*a.gallery_frames, *b.gallery_frames));
}

}  // namespace

TEST_CASE("a saved feature set loads back equal, with or without frames") {
  fgreid::test::TempDir dir;
  for (const bool with_frames : {true, false}) {
    CAPTURE(with_frames);
    const auto set = example_set(with_frames);
    const auto file = dir / "features.pt";
    ev::save_features(file, set);
    const auto loaded = ev::load_features(file);
    check_equal(loaded, set);
    CHECK((loaded.query_features.scalar_type() == torch::kFloat));
    CHECK((loaded.query_pids.scalar_type() == torch::kLong));
  }
  // Nothing but the file itself is left behind: the temporary was renamed into place.
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("a features file written by Python's torch.save loads, other dtypes converted") {
  fgreid::test::TempDir dir;
  const auto file = dir / "from_python.pt";
  const auto python = run_python(dir, R"PY(
import sys, torch
torch.save({
    "query_features": torch.arange(12, dtype=torch.float64).reshape(3, 4) / 4,
    "gallery_features": torch.arange(20, dtype=torch.float16).reshape(5, 4),
    "query_pids": torch.tensor([1, 2, 3]),
    "gallery_pids": torch.tensor([3, 2, 1, 1, 0]),
    "query_camids": torch.tensor([1, 1, 2], dtype=torch.int32),
    "gallery_camids": torch.tensor([2, 2, 3, 1, 1], dtype=torch.int32),
    "query_frames": None,
    "gallery_frames": torch.arange(100, 105),
    "note": "extra entries are ignored",
}, sys.argv[1])
)PY",
                                 file);
  INFO(python.err);
  REQUIRE(python.exit_code == 0);

  const auto set = ev::load_features(file);
  CHECK((set.query_features.scalar_type() == torch::kFloat));
  CHECK(torch::equal(set.query_features, torch::arange(12, torch::kFloat).reshape({3, 4}) / 4));
  CHECK(torch::equal(set.gallery_features, torch::arange(20, torch::kFloat).reshape({5, 4})));
  CHECK(torch::equal(set.query_pids, torch::tensor({1L, 2L, 3L})));
  CHECK((set.query_camids.scalar_type() == torch::kLong));
  CHECK(torch::equal(set.gallery_camids, torch::tensor({2L, 2L, 3L, 1L, 1L})));
  CHECK_FALSE(set.query_frames.has_value());  // None counts as absent
  REQUIRE(set.gallery_frames.has_value());
  CHECK(torch::equal(*set.gallery_frames, torch::arange(100, 105, torch::kLong)));
}

TEST_CASE("a file from save_features loads in Python with torch.load(weights_only=True)") {
  fgreid::test::TempDir dir;
  const auto file = dir / "features.pt";
  ev::save_features(file, example_set());
  const auto python = run_python(dir, R"PY(
import sys, torch
d = torch.load(sys.argv[1], weights_only=True)
assert type(d) is dict, type(d)
expected = {
    "query_features": (torch.float32, (6, 5)), "gallery_features": (torch.float32, (11, 5)),
    "query_pids": (torch.int64, (6,)), "gallery_pids": (torch.int64, (11,)),
    "query_camids": (torch.int64, (6,)), "gallery_camids": (torch.int64, (11,)),
    "query_frames": (torch.int64, (6,)), "gallery_frames": (torch.int64, (11,)),
}
assert set(d) == set(expected), sorted(d)
for key, (dtype, shape) in expected.items():
    assert d[key].dtype == dtype and tuple(d[key].shape) == shape, (key, d[key].dtype, d[key].shape)
assert d["query_pids"].tolist() == [1, 2, 3, 4, 1, 2], d["query_pids"]
assert d["gallery_frames"].tolist() == [10 * i for i in range(11)], d["gallery_frames"]
print("ok")
)PY",
                                 file);
  INFO(python.out);
  INFO(python.err);
  CHECK(python.exit_code == 0);
  CHECK(fgreid::test::last_line(python.out) == "ok");
}

TEST_CASE("unreadable or malformed features files are DataErrors that name the file") {
  fgreid::test::TempDir dir;
  const auto good = dir / "good.pt";
  ev::save_features(good, example_set());
  auto load = [](const fs::path& path) { return [path] { (void)ev::load_features(path); }; };

  SUBCASE("a missing file") {
    const auto missing = dir / "missing.pt";
    const auto message = data_error_of(load(missing));
    CHECK(starts_with(message, missing.string() + ": "));
  }
  SUBCASE("a truncated file") {
    const auto truncated = dir / "truncated.pt";
    write_truncated(good, truncated);
    const auto message = data_error_of(load(truncated));
    CHECK(starts_with(message, truncated.string() + ": "));
    CHECK(contains(message, "truncated"));
    CHECK(std::ranges::count(message, '\n') == 0);
  }
  SUBCASE("not a pickle at all, or empty") {
    const auto text = dir / "text.pt";
    std::ofstream(text) << "query_features,gallery_features\n1,2\n";
    CHECK(starts_with(data_error_of(load(text)), text.string() + ": "));
    const auto empty = dir / "empty.pt";
    { std::ofstream touch(empty); }
    CHECK(starts_with(data_error_of(load(empty)), empty.string() + ": "));
  }
  SUBCASE("a pickle that is not a dict") {
    const auto list = dir / "list.pt";
    const auto bytes = torch::pickle_save(c10::IValue(torch::ones({2, 2})));
    std::ofstream(list, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    const auto message = data_error_of(load(list));
    CHECK(starts_with(message, list.string() + ": "));
    CHECK(contains(message, "dict"));
  }

  // Broken sets are written as raw dicts, bypassing save_features's own checks.
  auto write_dict = [&](const std::string& name, auto&& edit) {
    const auto set = example_set();
    c10::Dict<std::string, torch::Tensor> dict;
    dict.insert("query_features", set.query_features);
    dict.insert("gallery_features", set.gallery_features);
    dict.insert("query_pids", set.query_pids);
    dict.insert("gallery_pids", set.gallery_pids);
    dict.insert("query_camids", set.query_camids);
    dict.insert("gallery_camids", set.gallery_camids);
    edit(dict);
    const auto bytes = torch::pickle_save(c10::IValue(dict));
    const auto path = dir / name;
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
  };
  SUBCASE("a missing key is named") {
    const auto path = write_dict("no_camids.pt", [](auto& d) { (void)d.erase("gallery_camids"); });
    const auto message = data_error_of(load(path));
    CHECK(starts_with(message, path.string() + ": "));
    CHECK(contains(message, "'gallery_camids'"));
  }
  SUBCASE("wrong dtypes and ranks are named") {
    const auto int_features = write_dict("int_features.pt", [](auto& d) {
      d.insert_or_assign("query_features", torch::ones({6, 5}, torch::kLong));
    });
    CHECK(contains(data_error_of(load(int_features)), "'query_features'"));
    const auto float_pids = write_dict("float_pids.pt", [](auto& d) {
      d.insert_or_assign("query_pids", torch::ones({6}, torch::kFloat));
    });
    CHECK(contains(data_error_of(load(float_pids)), "'query_pids'"));
    const auto flat_features = write_dict("flat.pt", [](auto& d) {
      d.insert_or_assign("gallery_features", torch::ones({55}));
    });
    const auto message = data_error_of(load(flat_features));
    CHECK(starts_with(message, flat_features.string() + ": "));
    CHECK(contains(message, "'gallery_features'"));
  }
  SUBCASE("labels and features of different lengths") {
    const auto path = write_dict("short_pids.pt", [](auto& d) {
      d.insert_or_assign("gallery_pids", torch::ones({10}, torch::kLong));
    });
    const auto message = data_error_of(load(path));
    CHECK(starts_with(message, path.string() + ": "));
    CHECK(contains(message, "'gallery_pids' has 10 entries"));
  }
  SUBCASE("query and gallery features of different dimensions") {
    const auto path = write_dict("dims.pt", [](auto& d) {
      d.insert_or_assign("gallery_features", torch::ones({11, 4}));
    });
    const auto message = data_error_of(load(path));
    CHECK(starts_with(message, path.string() + ": "));
    CHECK(contains(message, "dimensions"));
  }
  SUBCASE("non-finite features: a NaN row, an all-NaN gallery, an infinity") {
    const auto nan_row = write_dict("nan_row.pt", [](auto& d) {
      auto features = torch::randn({6, 5});
      features[4][2] = std::numeric_limits<float>::quiet_NaN();
      d.insert_or_assign("query_features", features);
    });
    const auto message = data_error_of(load(nan_row));
    CHECK(starts_with(message, nan_row.string() + ": "));
    CHECK(contains(message, "'query_features' row 4"));
    const auto all_nan = write_dict("all_nan.pt", [](auto& d) {
      d.insert_or_assign("gallery_features", torch::full({11, 5}, std::numeric_limits<float>::quiet_NaN()));
    });
    CHECK(contains(data_error_of(load(all_nan)), "'gallery_features' row 0"));
    const auto infinite = write_dict("inf.pt", [](auto& d) {
      d.insert_or_assign("gallery_features", torch::full({11, 5}, std::numeric_limits<float>::infinity()));
    });
    CHECK(contains(data_error_of(load(infinite)), "not finite"));
  }
  SUBCASE("no queries, no gallery, or zero-dimensional features") {
    const auto no_queries = write_dict("no_queries.pt", [](auto& d) {
      d.insert_or_assign("query_features", torch::ones({0, 5}));
      d.insert_or_assign("query_pids", torch::ones({0}, torch::kLong));
      d.insert_or_assign("query_camids", torch::ones({0}, torch::kLong));
    });
    const auto message = data_error_of(load(no_queries));
    CHECK(starts_with(message, no_queries.string() + ": "));
    CHECK(contains(message, "no query"));
    const auto no_gallery = write_dict("no_gallery.pt", [](auto& d) {
      d.insert_or_assign("gallery_features", torch::ones({0, 5}));
      d.insert_or_assign("gallery_pids", torch::ones({0}, torch::kLong));
      d.insert_or_assign("gallery_camids", torch::ones({0}, torch::kLong));
    });
    CHECK(contains(data_error_of(load(no_gallery)), "no gallery"));
    const auto no_dims = write_dict("no_dims.pt", [](auto& d) {
      d.insert_or_assign("query_features", torch::ones({6, 0}));
      d.insert_or_assign("gallery_features", torch::ones({11, 0}));
    });
    CHECK(contains(data_error_of(load(no_dims)), "0 dimensions"));
  }
}

TEST_CASE("pairwise distances equal a brute-force computation, chunk by chunk") {
  torch::manual_seed(3);
  const auto query = torch::randn({10, 7});
  const auto gallery = torch::randn({13, 7});
  gallery[4].zero_();  // a zero vector: cosine distance 1 from everything
  auto brute_force = torch::empty({10, 13}, torch::kDouble);
  for (int q = 0; q < 10; ++q) {
    for (int g = 0; g < 13; ++g) {
      const auto a = query[q].to(torch::kDouble), b = gallery[g].to(torch::kDouble);
      brute_force[q][g] = (a - b).pow(2).sum();
    }
  }
  for (const std::int64_t chunk_rows : {3L, 1024L}) {
    CAPTURE(chunk_rows);
    const auto euclidean = ev::pairwise_distances(query, gallery, ev::Metric::euclidean, chunk_rows);
    CHECK((euclidean.scalar_type() == torch::kFloat));
    CHECK(euclidean.device().is_cpu());
    CHECK((euclidean.sizes() == torch::IntArrayRef({10, 13})));
    CHECK(torch::allclose(euclidean.to(torch::kDouble), brute_force, 1e-5, 1e-4));

    const auto cosine = ev::pairwise_distances(query, gallery, ev::Metric::cosine, chunk_rows);
    for (int q = 0; q < 10; ++q) {
      for (int g = 0; g < 13; ++g) {
        const auto a = query[q].to(torch::kDouble), b = gallery[g].to(torch::kDouble);
        const double norms = a.norm().item<double>() * b.norm().item<double>();
        const double expected = norms == 0 ? 1.0 : 1.0 - a.dot(b).item<double>() / norms;
        CHECK(cosine[q][g].item<double>() == doctest::Approx(expected).epsilon(1e-5));
      }
    }
  }
  CHECK_THROWS_AS((void)ev::pairwise_distances(query, torch::ones({3, 6}), ev::Metric::cosine),
                  std::invalid_argument);
}

TEST_CASE("pairwise distances run on a CUDA device and come back to the CPU" *
          doctest::skip(!torch::cuda::is_available())) {
  torch::manual_seed(5);
  const auto query = torch::randn({37, 16}), gallery = torch::randn({53, 16});
  for (const auto metric : {ev::Metric::euclidean, ev::Metric::cosine}) {
    const auto on_cpu = ev::pairwise_distances(query, gallery, metric, 8);
    const auto on_cuda =
        ev::pairwise_distances(query.to(torch::kCUDA), gallery.to(torch::kCUDA), metric, 8);
    CHECK(on_cuda.device().is_cpu());
    CHECK(torch::allclose(on_cuda, on_cpu, 1e-4, 1e-4));
  }
}

TEST_CASE("fgreid_eval prints the metrics of evaluate_features, and refuses bad input") {
  fgreid::test::TempDir dir;
  const auto file = dir / "features.pt";
  const auto set = example_set();
  ev::save_features(file, set);

  for (const auto& [flag, metric] : {std::pair{"euclidean", ev::Metric::euclidean},
                                     std::pair{"cosine", ev::Metric::cosine}}) {
    CAPTURE(flag);
    const auto result =
        run_command(kEval + " --features " + file.string() + " --metric " + flag + " --max-rank 10");
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    CHECK(std::ranges::count(result.out, '\n') == 1);
    CHECK(nlohmann::json::parse(result.out) == ev::evaluate_features(set, metric, 10));
  }
  {  // the defaults: euclidean, max rank 50
    const auto result = run_command(kEval + " --features " + file.string());
    REQUIRE(result.exit_code == 0);
    CHECK(nlohmann::json::parse(result.out) ==
          ev::evaluate_features(set, ev::Metric::euclidean, 50));
  }
  const std::string features_flag = "--features " + file.string();
  for (const std::string& bad_flags :
       std::vector<std::string>{features_flag + " --bogus", features_flag + " --metric manhattan",
                                features_flag + " --max-rank 0", features_flag + " --max-rank ten",
                                "--metric cosine", "--features", features_flag + " extra"}) {
    CAPTURE(bad_flags);
    const auto result = run_command(kEval + " " + bad_flags);
    CHECK(result.exit_code == 2);
    CHECK(starts_with(result.err, "fgreid_eval: "));
    CHECK(std::ranges::count(result.err, '\n') == 1);
    CHECK(result.out.empty());
  }
  {
    const auto truncated = dir / "truncated.pt";
    write_truncated(file, truncated);
    const auto result = run_command(kEval + " --features " + truncated.string());
    CHECK(result.exit_code == 1);
    CHECK(contains(result.err, truncated.string()));
    CHECK(std::ranges::count(result.err, '\n') == 1);
  }
  {
    const auto help = run_command(kEval + " --help");
    CHECK(help.exit_code == 0);
    CHECK(contains(help.out, "--features"));
  }
}

namespace {

/// A larger set for the evaluation suite: 12 identities seen by 3 cameras at times that
/// follow a walk (camera c about 500·c frames after camera 0), features with identity
/// structure, and the training set's cameras and frames.
ev::FeatureSet suite_set() {
  torch::manual_seed(11);
  const std::int64_t ids = 12, per_camera = 2, cameras = 3, dims = 16;
  const auto centres = torch::randn({ids, dims});
  std::vector<std::int64_t> pids, camids, frames;
  for (std::int64_t id = 0; id < ids; ++id)
    for (std::int64_t camera = 0; camera < cameras; ++camera)
      for (std::int64_t k = 0; k < per_camera; ++k) {
        pids.push_back(id);
        camids.push_back(camera);
        frames.push_back(id * 3000 + camera * 500 + k * 20);
      }
  const auto n = static_cast<std::int64_t>(pids.size());
  const auto labels = torch::tensor(pids);
  const auto features = centres.index_select(0, labels) + 0.9 * torch::randn({n, dims});
  // Query: the first image of each identity at camera 0; gallery: the rest.
  std::vector<std::int64_t> query_rows, gallery_rows;
  for (std::int64_t k = 0; k < n; ++k)
    (camids[static_cast<std::size_t>(k)] == 0 && k % per_camera == 0 ? query_rows : gallery_rows)
        .push_back(k);
  const auto q = torch::tensor(query_rows), g = torch::tensor(gallery_rows);
  ev::FeatureSet set;
  set.query_features = features.index_select(0, q);
  set.gallery_features = features.index_select(0, g);
  set.query_pids = labels.index_select(0, q);
  set.gallery_pids = labels.index_select(0, g);
  set.query_camids = torch::tensor(camids).index_select(0, q);
  set.gallery_camids = torch::tensor(camids).index_select(0, g);
  set.query_frames = torch::tensor(frames).index_select(0, q);
  set.gallery_frames = torch::tensor(frames).index_select(0, g);
  // Training: 30 other identities walking the same way.
  std::vector<std::int64_t> train_pids, train_camids, train_frames;
  for (std::int64_t id = 0; id < 30; ++id)
    for (std::int64_t camera = 0; camera < cameras; ++camera) {
      train_pids.push_back(id);
      train_camids.push_back(camera);
      train_frames.push_back(id * 4000 + camera * 500 + (id % 5) * 30);
    }
  set.train_pids = torch::tensor(train_pids);
  set.train_camids = torch::tensor(train_camids);
  set.train_frames = torch::tensor(train_frames);
  return set;
}

std::vector<std::int64_t> longs(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.data_ptr<std::int64_t>(), c.data_ptr<std::int64_t>() + c.numel()};
}

}  // namespace

TEST_CASE("training cameras and frames round-trip through the features file, all or none") {
  fgreid::test::TempDir dir;
  const auto set = suite_set();
  const auto file = dir / "features.pt";
  ev::save_features(file, set);
  const auto loaded = ev::load_features(file);
  check_equal(loaded, set);
  REQUIRE(loaded.train_pids.has_value());
  REQUIRE(loaded.train_camids.has_value());
  REQUIRE(loaded.train_frames.has_value());
  CHECK(torch::equal(*loaded.train_pids, *set.train_pids));
  CHECK(torch::equal(*loaded.train_camids, *set.train_camids));
  CHECK(torch::equal(*loaded.train_frames, *set.train_frames));

  auto partial = set;
  partial.train_frames.reset();
  CHECK_THROWS_AS(ev::save_features(file, partial), std::invalid_argument);
  auto uneven = set;
  uneven.train_frames = torch::zeros({3}, torch::kLong);
  CHECK_THROWS_AS(ev::save_features(file, uneven), std::invalid_argument);
}

TEST_CASE("re-ranking from features equals re-ranking the dense distances, either metric") {
  const auto set = suite_set();
  const auto& q = set.query_features;
  const auto& g = set.gallery_features;
  auto distances = [](const torch::Tensor& a, const torch::Tensor& b, ev::Metric metric) {
    const auto a64 = a.to(torch::kDouble), b64 = b.to(torch::kDouble);
    const auto d = (metric == ev::Metric::euclidean
                        ? torch::cdist(a64, b64)
                        : 1 - torch::mm(torch::nn::functional::normalize(a64, torch::nn::functional::NormalizeFuncOptions().dim(1)),
                                        torch::nn::functional::normalize(b64, torch::nn::functional::NormalizeFuncOptions().dim(1)).t()))
                       .to(torch::kFloat)
                       .contiguous();
    return std::vector<float>(d.data_ptr<float>(), d.data_ptr<float>() + d.numel());
  };
  for (const auto metric : {ev::Metric::euclidean, ev::Metric::cosine}) {
    CAPTURE(static_cast<int>(metric));
    const auto qg = distances(q, g, metric), qq = distances(q, q, metric), gg = distances(g, g, metric);
    const ev::DenseRerankSource dense(qg, qq, gg, static_cast<std::size_t>(q.size(0)),
                                      static_cast<std::size_t>(g.size(0)));
    const ev::FeatureRerankSource from_features(q, g, metric);
    CHECK(from_features.symmetric());
    const ev::RerankOptions options{6, 3, 0.3};
    const auto expected = ev::rerank(dense, options);
    const auto got = ev::rerank(from_features, options);
    REQUIRE(got.size() == expected.size());
    for (std::size_t k = 0; k < got.size(); ++k)
      CHECK(got[k] == doctest::Approx(expected[k]).epsilon(1e-4));
  }
}

TEST_CASE("re-ranking from CUDA features is bit-identical to the CPU's when the products are exact" *
          doctest::skip(!torch::cuda::is_available())) {
  // Small integer features: every product and squared distance is exact in float32 on either
  // device, so any difference would be the device path's own (a stripe misplaced, a row
  // offset wrong), not rounding. 700 items span three 256-column stripes, and the integer
  // distances tie often, which both devices must break alike.
  torch::manual_seed(7);
  const auto ids = torch::randint(40, {700}, torch::kLong);
  const auto features = (torch::randint(-4, 5, {40, 32}).index_select(0, ids) +
                         torch::randint(-3, 4, {700, 32}))
                            .to(torch::kFloat);
  const auto q = features.narrow(0, 0, 150), g = features.narrow(0, 150, 550);
  const ev::RerankOptions options{20, 6, 0.3};
  const auto on_cpu = ev::rerank(ev::FeatureRerankSource(q, g, ev::Metric::euclidean), options);
  const auto on_cuda = ev::rerank(
      ev::FeatureRerankSource(q.to(torch::kCUDA), g.to(torch::kCUDA), ev::Metric::euclidean),
      options);
  REQUIRE(on_cuda.size() == on_cpu.size());
  CHECK(on_cuda == on_cpu);
}

TEST_CASE("run_suite reports re-ranked, st-ReID, single-shot and seed-protocol metrics") {
  const auto set = suite_set();
  const auto qp = longs(set.query_pids), qc = longs(set.query_camids);
  const auto gp = longs(set.gallery_pids), gc = longs(set.gallery_camids);
  ev::SuiteOptions options;
  options.rerank = true;
  options.st_reid = true;
  options.single_shot_repeats = 5;
  const ev::RerankOptions rerank{.k1 = 6, .k2 = 3};
  ev::StReidOptions st;
  st.st_bins = 100;
  st.st_smoothing = 2;
  const auto result = ev::run_suite(set, ev::Metric::euclidean, 10, options, rerank, st);
  const auto& m = result.metrics;
  // The top level stays the visual evaluation.
  auto visual = ev::evaluate_features(set, ev::Metric::euclidean, 10);
  for (const auto& [key, value] : visual.items()) CHECK(m[key] == value);
  for (const char* key : {"rerank", "st_reid", "st_reid_rerank", "single_shot"}) {
    CAPTURE(key);
    REQUIRE(m.contains(key));
    CHECK(m[key].contains("mAP"));
  }
  CHECK(result.curves.size() == 5);
  CHECK(result.final_distances.size() == qp.size() * gp.size());
  // Time separates identities that look alike here: st-ReID must not do worse than vision.
  CHECK(m["st_reid"]["mAP"].get<double>() > m["mAP"].get<double>());

  // st-ReID's metrics equal fusing by hand with the core functions.
  const auto model = ev::StModel::fit(longs(*set.train_pids),
                                      {longs(*set.train_camids), longs(*set.train_frames)},
                                      st);
  const auto unit_q = torch::nn::functional::normalize(set.query_features,
                                                       torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto unit_g = torch::nn::functional::normalize(set.gallery_features,
                                                       torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto similarity_tensor = torch::mm(unit_q, unit_g.t()).contiguous();
  const std::vector<float> similarity(similarity_tensor.data_ptr<float>(),
                                      similarity_tensor.data_ptr<float>() + similarity_tensor.numel());
  const auto qf = longs(*set.query_frames), gf = longs(*set.gallery_frames);
  const auto scores = ev::st_fuse(similarity, {qc, qf}, {gc, gf}, model, st);
  std::vector<float> distances(scores.size());
  for (std::size_t k = 0; k < scores.size(); ++k) distances[k] = -scores[k];
  const auto by_hand = ev::evaluate_market(distances, {qp, qc}, {gp, gc}, 10);
  CHECK(m["st_reid"]["mAP"].get<double>() == doctest::Approx(by_hand.mAP).epsilon(1e-5));
  CHECK(m["st_reid"]["rank1"].get<double>() == doctest::Approx(by_hand.cmc[0]));

  options.protocol = ev::Protocol::seed;
  options.rerank = options.st_reid = false;
  options.single_shot_repeats = 0;
  const auto seed = ev::run_suite(set, ev::Metric::euclidean, 10, options, rerank, st).metrics;
  CHECK(seed["protocol"] == "seed");
  const auto d = ev::pairwise_distances(set.query_features, set.gallery_features, ev::Metric::euclidean).contiguous();
  const auto seed_metrics = ev::evaluate_seed({d.data_ptr<float>(), static_cast<std::size_t>(d.numel())},
                                              {qp, qc}, {gp, gc}, 10);
  CHECK(seed["mAP"].get<double>() == doctest::Approx(seed_metrics.mAP));
}

TEST_CASE("fgreid_eval re-ranks, fuses st-ReID, plots CMC curves and explains what is missing") {
  fgreid::test::TempDir dir;
  const auto set = suite_set();
  const auto file = dir / "suite.pt";
  ev::save_features(file, set);
  const auto plot = dir / "cmc.png";
  const auto result = run_command(kEval + " --features " + file.string() +
                                  " --rerank --k1 6 --k2 3 --st-reid --max-rank 10 --cmc-plot " +
                                  plot.string());
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto printed = nlohmann::json::parse(result.out);
  ev::SuiteOptions options;
  options.rerank = options.st_reid = true;
  CHECK(printed == ev::run_suite(set, ev::Metric::euclidean, 10, options, {.k1 = 6, .k2 = 3}, {})
                       .metrics);
  CHECK(printed.contains("st_reid_rerank"));
  const cv::Mat picture = cv::imread(plot.string());
  CHECK(picture.cols == ev::kCmcPlotWidth);
  CHECK(picture.rows == ev::kCmcPlotHeight);

  const auto seed = run_command(kEval + " --features " + file.string() + " --protocol seed");
  REQUIRE(seed.exit_code == 0);
  CHECK(nlohmann::json::parse(seed.out)["protocol"] == "seed");

  {  // a file without frames (CUHK01-like): a one-line DataError naming the file
    const auto no_frames = dir / "no_frames.pt";
    ev::save_features(no_frames, example_set(/*with_frames=*/false));
    const auto refused = run_command(kEval + " --features " + no_frames.string() + " --st-reid");
    CHECK(refused.exit_code == 1);
    CHECK(starts_with(refused.err, "fgreid_eval: " + no_frames.string() + ": --st-reid: "));
    CHECK(contains(refused.err, "frame"));
    CHECK(std::ranges::count(refused.err, '\n') == 1);
  }
  {  // frames but no training times
    const auto no_train = dir / "no_train.pt";
    ev::save_features(no_train, example_set(/*with_frames=*/true));
    const auto refused = run_command(kEval + " --features " + no_train.string() + " --st-reid");
    CHECK(refused.exit_code == 1);
    CHECK(contains(refused.err, "train_frames"));
  }
  for (const std::string& bad : {"--k2 30", "--k1 0", "--lambda 1.5", "--protocol paper",
                                 "--single-shot-repeats -1", "--cmc-plot ''", "--st-bins 0"}) {
    CAPTURE(bad);
    const auto refused = run_command(kEval + " --features " + file.string() + " " + bad);
    CHECK(refused.exit_code == 2);
    CHECK(starts_with(refused.err, "fgreid_eval: "));
  }
  // The checks read the re-ranking and st-ReID groups: their messages name flag and rule.
  CHECK(run_command(kEval + " --features " + file.string() + " --k2 40").err ==
        "fgreid_eval: --k2 40: must be in 1..k1+1 (21)\n");
  CHECK(run_command(kEval + " --features " + file.string() + " --st-bin-frames 0").err ==
        "fgreid_eval: --st-bin-frames 0: must be positive\n");
  {  // a stray word is named
    const auto refused = run_command(kEval + " --features " + file.string() + " stray");
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "'stray'"));
  }
}
