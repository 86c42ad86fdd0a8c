#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/mars.hpp>
#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/datasets/synthetic_video.hpp>
#include <fgreid/datasets/video.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <vector>

namespace fgreid::datasets {

namespace {

constexpr std::string_view needs =
    "MARS needs bbox_train/, bbox_test/ and info/ (train_name.txt, test_name.txt, "
    "tracks_train_info.mat, tracks_test_info.mat, query_IDX.mat) in --data-root, its MARS/ or "
    "its mars/";
constexpr int camera_count = 6;

/// The frame names of a list, one per line (trailing blank lines allowed, none inside).
std::vector<std::string> read_names(const std::filesystem::path& file) {
  require_file(file, needs);
  std::ifstream in(file);
  if (!in) throw DataError(fmt::format("{}: cannot read the list", file.string()));
  std::vector<std::string> names;
  std::size_t blank_at = 0;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.empty()) {
      if (blank_at == 0) blank_at = number;
      continue;
    }
    if (blank_at != 0)
      throw DataError(fmt::format("{}:{}: blank line inside the list (row numbers of the .mat "
                                  "files count its lines)", file.string(), blank_at));
    if (line.size() < 6)
      throw DataError(fmt::format("{}:{}: \"{}\" is not a MARS frame name (PPPPCcTttttFfff.jpg)",
                                  file.string(), number, line));
    names.push_back(std::move(line));
  }
  return names;
}

struct TrackTable {
  std::filesystem::path file;
  std::string variable;
  MatMatrix rows;
};

TrackTable read_tracks(const std::filesystem::path& file, const std::string& variable) {
  require_file(file, needs);
  auto matrix = read_mat_matrix(file, variable);
  if (matrix.cols != 4)
    throw DataError(fmt::format("{}: variable '{}' is {}×{}, expected N×4 rows [first last pid "
                                "camera]", file.string(), variable, matrix.rows, matrix.cols));
  return {file, variable, std::move(matrix)};
}

/// Tracklet `row` (0-based) of `table` over the frames `names` in `folder`; nullopt for junk.
std::optional<Entry> tracklet(const TrackTable& table, std::size_t row,
                              const std::vector<std::string>& names,
                              const std::filesystem::path& names_file,
                              const std::filesystem::path& folder) {
  const auto cell = [&](std::size_t col) {
    return mat_integer(table.file, table.variable, table.rows, row, col);
  };
  const auto first = cell(0), last = cell(1), pid = cell(2), camera = cell(3);
  const auto where = fmt::format("{}: {} row {} (tracklet of frames {}..{} of {})",
                                 table.file.string(), table.variable, row + 1, first, last,
                                 names_file.filename().string());
  if (pid == -1) return std::nullopt;  // junk: dropped, as in the official protocol
  if (pid < 0) throw DataError(fmt::format("{}: person id {} (expected −1, 0 or positive)", where, pid));
  if (camera < 1 || camera > camera_count)
    throw DataError(fmt::format("{}: camera {} out of range (expected 1..{})", where, camera, camera_count));
  if (first < 1 || last < first || static_cast<std::size_t>(last) > names.size())
    throw DataError(fmt::format("{}: frames outside the {} names of {}", where, names.size(),
                                names_file.string()));
  Entry entry{.images = {}, .pid = pid, .camid = camera - 1, .frame = -1};
  const auto& head = names[static_cast<std::size_t>(first - 1)];
  for (auto i = first - 1; i < last; ++i) {
    const auto& name = names[static_cast<std::size_t>(i)];
    if (name.compare(0, 4, head, 0, 4) != 0)
      throw DataError(fmt::format("{}: holds frames of two persons, {} and {}", where, head, name));
    if (name[5] != head[5])
      throw DataError(fmt::format("{}: holds frames of two cameras, {} and {}", where, head, name));
    entry.images.push_back(folder / name.substr(0, 4) / name);
  }
  for (const auto& frame : {entry.images.front(), entry.images.back()})
    if (!std::filesystem::is_regular_file(frame))
      throw DataError(fmt::format("{}: frame not found ({})", frame.string(), where));
  return entry;
}

}  // namespace

Splits MARS::load(const std::filesystem::path& root, const Options& options) {
  const auto base = find_release_base(root, {"MARS", "mars"}, "info");
  const auto info = base / "info";
  for (const auto& folder : {base / "bbox_train", base / "bbox_test", info}) require_folder(folder, needs);
  const auto train_names_file = info / "train_name.txt", test_names_file = info / "test_name.txt";
  const auto train_names = read_names(train_names_file), test_names = read_names(test_names_file);
  const auto train_table = read_tracks(info / "tracks_train_info.mat", "track_train_info");
  const auto test_table = read_tracks(info / "tracks_test_info.mat", "track_test_info");
  const auto query_file = info / "query_IDX.mat";
  require_file(query_file, needs);
  const auto query_idx = read_mat_matrix(query_file, "query_IDX");
  if (query_idx.rows != 1 && query_idx.cols != 1)
    throw DataError(fmt::format("{}: variable 'query_IDX' is {}×{}, expected a vector",
                                query_file.string(), query_idx.rows, query_idx.cols));

  std::size_t junk = 0;
  std::vector<Entry> train, query, gallery;
  for (std::size_t row = 0; row < train_table.rows.rows; ++row) {
    if (auto entry = tracklet(train_table, row, train_names, train_names_file, base / "bbox_train"))
      train.push_back(std::move(*entry));
    else
      ++junk;
  }
  std::vector<bool> is_query(test_table.rows.rows, false);
  std::vector<std::size_t> query_rows;
  for (std::size_t i = 0; i < query_idx.values.size(); ++i) {
    const auto row = mat_integer(query_file, "query_IDX", query_idx, query_idx.rows == 1 ? 0 : i,
                                 query_idx.rows == 1 ? i : 0);
    if (row < 1 || static_cast<std::size_t>(row) > test_table.rows.rows)
      throw DataError(fmt::format("{}: query_IDX({}) = {} is not a row of track_test_info (1..{})",
                                  query_file.string(), i + 1, row, test_table.rows.rows));
    query_rows.push_back(static_cast<std::size_t>(row - 1));
    is_query[static_cast<std::size_t>(row - 1)] = true;
  }
  for (const auto row : query_rows) {
    if (auto entry = tracklet(test_table, row, test_names, test_names_file, base / "bbox_test"))
      query.push_back(std::move(*entry));
    else
      ++junk;
  }
  for (std::size_t row = 0; row < test_table.rows.rows; ++row) {
    if (is_query[row]) continue;
    if (auto entry = tracklet(test_table, row, test_names, test_names_file, base / "bbox_test"))
      gallery.push_back(std::move(*entry));
    else
      ++junk;
  }
  auto splits = finish_splits(std::move(train), std::move(query), std::move(gallery), options);
  splits.info["junk_tracklets_dropped"] = junk;
  return splits;
}

void write_synthetic_mars(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const auto base = root / "MARS";
  VideoPlanner plan(seed, camera_count);
  const auto ids = draw_ids(seed, 120, 1, 1500);
  const std::pair<int, int> frames{2, 16};  // MARS' shortest tracklets have 2 frames
  auto walk = [&](Subset subset, std::int64_t pid) {
    const auto person = plan.person();
    const auto cameras = plan.cameras(uniform_int(plan.rng(), 2, 3));
    for (std::size_t c = 0; c < cameras.size(); ++c)
      for (int k = uniform_int(plan.rng(), 1, 2); k > 0; --k)
        plan.tracklet(subset, pid, cameras[c], person, frames);
  };
  for (std::size_t i = 0; i < 60; ++i) walk(Subset::train, ids[i]);
  for (std::size_t i = 60; i < 120; ++i) walk(Subset::gallery, ids[i]);
  for (int i = 0; i < 10; ++i)  // distractors: pid 0, one passage each
    plan.tracklet(Subset::gallery, 0, uniform_int(plan.rng(), 0, camera_count - 1), plan.person(), frames);
  for (int i = 0; i < 6; ++i)  // junk boxes: pid -1, dropped by the loader
    plan.tracklet(Subset::gallery, -1, uniform_int(plan.rng(), 0, camera_count - 1), plan.person(), frames);
  // one query per test identity: its first tracklet (the gallery keeps its other cameras)
  std::set<std::int64_t> queried;
  for (auto& t : plan.tracklets())
    if (t.subset == Subset::gallery && t.pid > 0 && queried.insert(t.pid).second) t.subset = Subset::query;

  const auto person_folder = [](std::int64_t pid) {
    return pid < 0 ? std::string("00-1") : fmt::format("{:04d}", pid);
  };
  write_tracklets(base, plan, {64, 128}, [&](const Tracklet& t, int frame) {
    const auto folder = t.subset == Subset::train ? "bbox_train" : "bbox_test";
    // tracklet numbers count per person and camera over train and test alike
    return std::filesystem::path(folder) / person_folder(t.pid) /
           fmt::format("{}C{}T{:04d}F{:03d}.jpg", person_folder(t.pid), t.camera + 1,
                       t.number, frame + 1);
  });

  std::filesystem::create_directories(base / "info");
  std::ofstream train_names(base / "info" / "train_name.txt"), test_names(base / "info" / "test_name.txt");
  std::vector<double> train_rows, test_rows, query_rows;
  std::size_t train_count = 0, test_count = 0;
  for (const auto& t : plan.tracklets()) {
    const bool is_train = t.subset == Subset::train;
    auto& names = is_train ? train_names : test_names;
    auto& count = is_train ? train_count : test_count;
    auto& rows = is_train ? train_rows : test_rows;
    for (const auto& path : t.paths) names << path.filename().string() << '\n';
    if (t.subset == Subset::query) query_rows.push_back(static_cast<double>(test_rows.size() / 4 + 1));
    rows.insert(rows.end(), {static_cast<double>(count + 1), static_cast<double>(count + t.paths.size()),
                             static_cast<double>(t.pid), static_cast<double>(t.camera + 1)});
    count += t.paths.size();
  }
  write_mat_matrices(base / "info" / "tracks_train_info.mat",
                     {{"track_train_info", MatMatrix::from_rows(train_rows.size() / 4, 4, train_rows)}});
  write_mat_matrices(base / "info" / "tracks_test_info.mat",
                     {{"track_test_info", MatMatrix::from_rows(test_rows.size() / 4, 4, test_rows)}});
  write_mat_matrices(base / "info" / "query_IDX.mat",
                     {{"query_IDX", MatMatrix::from_rows(1, query_rows.size(), query_rows)}});
  write_synthetic_readme(base / "README.txt", "MARS", seed);
}

void MARS::synthesize(const std::filesystem::path& root, const Options&) { write_synthetic_mars(root); }

}  // namespace fgreid::datasets
