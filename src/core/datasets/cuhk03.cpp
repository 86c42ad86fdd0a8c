#include <fgreid/datasets/cuhk03.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/synthetic.hpp>
#include <fgreid/datasets/synthetic_release.hpp>
#include <fgreid/datasets/validation.hpp>
#include <fgreid/error.hpp>

#include "../detail/child_process.hpp"
#include "hdf5_files.hpp"
#include "mat_files.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unistd.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <numeric>
#include <set>
#include <utility>

namespace fgreid::datasets {

namespace {

constexpr std::string_view release_folder = "cuhk03";
constexpr std::string_view box_names[2] = {"detected", "labeled"};

/// One person of the release: pair and person (0-based), and the slots that hold an image.
struct Person {
  int pair = 0, person = 0;
  std::vector<int> slots;
  std::vector<hobj_ref_t> refs;  // of the slots
};

/// Walks `boxes` (labeled/detected): every person with the slots that hold an image (a
/// 3-d array; torchreid skips anything else), in pair-then-person order.
std::vector<Person> walk(const hdf5::Reader& file, const char* boxes) {
  std::vector<hsize_t> dims;
  const auto pairs = file.cell(boxes, dims);
  if (pairs.empty())
    throw DataError(fmt::format("{}: '{}' holds no camera pairs", file.path().string(), boxes));
  std::vector<Person> people;
  for (std::size_t c = 0; c < pairs.size(); ++c) {
    const auto what = fmt::format("{}{{{}}}", boxes, c + 1);
    auto pair = file.open(pairs[c], what);
    std::vector<hsize_t> cell_dims;
    const auto cells = file.references(pair.get(), what, cell_dims);
    // MATLAB's P×10 cell is stored transposed: HDF5 dims (10, P).
    if (cell_dims.size() != 2 || cell_dims[0] != 10)
      throw DataError(fmt::format("{}: '{}' is not a persons × 10 cell array", file.path().string(), what));
    const auto persons = static_cast<int>(cell_dims[1]);
    for (int p = 0; p < persons; ++p) {
      Person person{.pair = static_cast<int>(c), .person = p, .slots = {}, .refs = {}};
      for (int slot = 0; slot < 10; ++slot) {
        const auto& ref = cells[static_cast<std::size_t>(slot) * static_cast<std::size_t>(persons) + static_cast<std::size_t>(p)];
        auto image = file.open(ref, what);
        const auto image_dims = hdf5::dims_of(image.get());
        if (image_dims.size() < 3 || hdf5::count_of(image_dims) == 0) continue;  // an empty cell
        person.slots.push_back(slot);
        person.refs.push_back(ref);
      }
      if (person.slots.empty())
        throw DataError(fmt::format("{}: '{}' person {} has no image", file.path().string(), what, p + 1));
      people.push_back(std::move(person));
    }
  }
  return people;
}

/// Extracts every image of `people` into `folder` once: into a private folder first, renamed
/// into place when complete.
void extract(const hdf5::Reader& file, const char* boxes, const std::vector<Person>& people,
             const std::filesystem::path& folder) {
  if (std::filesystem::is_directory(folder)) return;
  const auto scratch = folder.parent_path() / fmt::format(".{}.part-{}", folder.filename().string(), ::getpid());
  std::filesystem::remove_all(scratch);
  std::error_code error;
  std::filesystem::create_directories(scratch, error);
  if (error)
    throw DataError(fmt::format("{}: cannot create the folder for the extracted images ({})",
                                scratch.string(), error.message()));
  for (const auto& person : people)
    for (std::size_t k = 0; k < person.slots.size(); ++k) {
      const auto what = fmt::format("{}{{{}}}{{{},{}}}", boxes, person.pair + 1, person.person + 1, person.slots[k] + 1);
      const auto target = scratch / cuhk03_image_name(person.pair, person.person, person.slots[k]);
      if (!cv::imwrite(target.string(), file.image(person.refs[k], what)))
        throw DataError(fmt::format("{}: cannot write the image", target.string()));
    }
  std::filesystem::rename(scratch, folder, error);
  if (error) {  // another process won the race
    std::filesystem::remove_all(scratch);
    if (!std::filesystem::is_directory(folder))
      throw DataError(fmt::format("{}: cannot move the extracted images into place ({})",
                                  folder.string(), error.message()));
  }
}

/// The classic split `index`: [pair, person] rows of testsets{index + 1}.
std::set<std::pair<int, int>> classic_test_set(const hdf5::Reader& file, int index) {
  std::vector<hsize_t> dims;
  const auto sets = file.cell("testsets", dims);
  if (index < 0 || static_cast<std::size_t>(index) >= sets.size())
    throw UsageError(fmt::format("--split-index {}: {} has {} classic splits (0..{})", index,
                                 file.path().string(), sets.size(), static_cast<int>(sets.size()) - 1));
  const auto what = fmt::format("testsets{{{}}}", index + 1);
  auto set = file.open(sets[static_cast<std::size_t>(index)], what);
  const auto set_dims = hdf5::dims_of(set.get());
  if (set_dims.size() != 2 || set_dims[0] != 2)
    throw DataError(fmt::format("{}: '{}' is not an N×2 [pair, person] list", file.path().string(), what));
  const auto values = file.numbers(set.get(), what);
  const auto rows = set_dims[1];
  // Checked before the cast: a double outside int's range is undefined behaviour to convert.
  const auto number = [&](double value) {
    if (!(value >= 0 && value <= 1e6) || value != std::floor(value))
      throw DataError(fmt::format("{}: '{}' holds {}, not a pair or person number",
                                  file.path().string(), what, value));
    return static_cast<int>(value);
  };
  std::set<std::pair<int, int>> tested;
  for (hsize_t r = 0; r < rows; ++r) tested.emplace(number(values[r]), number(values[rows + r]));
  return tested;
}

/// What a load takes from cuhk-03.mat: the persons of one box kind and, for the classic
/// protocol, the test set of one split.
struct Release {
  std::vector<Person> people;
  std::set<std::pair<int, int>> tested;
};

/// Reads `boxes` (and the classic split `classic_split`) from `mat_path` and extracts its images
/// into `images` once. In this process: loads call read_release_in_child.
Release read_release(const std::filesystem::path& mat_path, const char* boxes, std::optional<int> classic_split,
                     const std::filesystem::path& images) {
  const hdf5::Reader file(mat_path);
  Release release{.people = walk(file, boxes), .tested = {}};
  // Checked before extracting, so that a bad flag costs nothing.
  if (classic_split) release.tested = classic_test_set(file, *classic_split);
  extract(file, boxes, release.people, images);
  return release;
}

std::string encode(const Release& release) {
  detail::Encoder out;
  out.put(release.people.size());
  for (const auto& person : release.people) {
    out.put(person.pair).put(person.person).put(person.slots.size());
    for (const auto slot : person.slots) out.put(slot);
  }
  out.put(release.tested.size());
  for (const auto& [pair, person] : release.tested) out.put(pair).put(person);
  return out.take();
}

Release decode(std::string_view bytes) {
  detail::Decoder in(bytes);
  Release release;
  release.people.resize(in.get<std::size_t>());
  for (auto& person : release.people) {  // refs stay empty: they address the child's open file
    person.pair = in.get<int>();
    person.person = in.get<int>();
    person.slots.resize(in.get<std::size_t>());
    for (auto& slot : person.slots) slot = in.get<int>();
  }
  const auto tested = in.get<std::size_t>();
  for (std::size_t i = 0; i < tested; ++i) {
    const auto pair = in.get<int>();
    release.tested.emplace(pair, in.get<int>());
  }
  return release;
}

/// read_release in a child process: libhdf5 1.10 crashes on, or allocates what is claimed by,
/// some malformed files (fuzz/mat73.cpp's finds, test/data/fuzz/mat73/), and a stranger's
/// cuhk-03.mat must end in a DataError naming it, not take the run down.
Release read_release_in_child(const std::filesystem::path& mat_path, const char* boxes,
                              std::optional<int> classic_split, const std::filesystem::path& images) {
  return decode(detail::read_in_child(mat_path, "libhdf5", [&] {
    return encode(read_release(mat_path, boxes, classic_split, images));
  }));
}

// --- the new protocol's .mat -----------------------------------------------------------------

std::string mat_string(const matvar_t& variable) {
  std::string text;
  const auto count = mat::elements(variable);
  if (variable.data == nullptr) return text;
  switch (variable.data_type) {
    case MAT_T_UINT16:
    case MAT_T_UTF16:
      for (std::size_t i = 0; i < count; ++i) text.push_back(static_cast<char>(static_cast<const std::uint16_t*>(variable.data)[i]));
      break;
    default:
      for (std::size_t i = 0; i < count; ++i) text.push_back(static_cast<const char*>(variable.data)[i]);
  }
  return text;
}

Cuhk03Protocol read_protocol(const std::filesystem::path& path) {
  const auto file = mat::open(path, "CUHK03's new protocol: cuhk03_new_protocol_config_{labeled,detected}.mat "
                                    "next to cuhk03_release/ (torchreid) or in it (the seed)");
  Cuhk03Protocol protocol;
  const auto indices = [&](const char* name) {
    const auto variable = mat::read(file, path, name);
    std::vector<double> values;
    if (!mat::numbers(*variable, values))
      throw DataError(fmt::format("{}: '{}' is not a numeric array", path.string(), name));
    std::vector<std::int64_t> result;
    for (const auto value : values) {
      if (value < 1 || value > 1e9 || value != std::floor(value))  // checked before the cast
        throw DataError(fmt::format("{}: '{}' holds {}, not a 1-based index", path.string(), name, value));
      result.push_back(static_cast<std::int64_t>(value));
    }
    return result;
  };
  protocol.labels = indices("labels");
  protocol.train_idx = indices("train_idx");
  protocol.query_idx = indices("query_idx");
  protocol.gallery_idx = indices("gallery_idx");
  const auto filelist = mat::read(file, path, "filelist");
  if (filelist->class_type != MAT_C_CELL)
    throw DataError(fmt::format("{}: 'filelist' is not a cell array", path.string()));
  for (std::size_t i = 0; i < mat::elements(*filelist); ++i) {
    const auto* name = Mat_VarGetCell(filelist.get(), static_cast<int>(i));
    if (name == nullptr || name->class_type != MAT_C_CHAR)
      throw DataError(fmt::format("{}: filelist{{{}}} is not a file name", path.string(), i + 1));
    protocol.filelist.push_back(mat_string(*name));
  }
  if (protocol.filelist.size() != protocol.labels.size())
    throw DataError(fmt::format("{}: 'filelist' has {} names but 'labels' {} entries", path.string(),
                                protocol.filelist.size(), protocol.labels.size()));
  return protocol;
}

/// The 0-based camera (view) of an extracted image name C_PPP_V_II.png, or -1.
int view_of(std::string_view name) {
  int pair = 0, person = 0, view = 0, slot = 0;
  NameReader reader(name);
  if (reader.number(pair) && reader.literal("_") && reader.number(person) && reader.literal("_") &&
      reader.number(view) && reader.literal("_") && reader.number(slot) && reader.literal(".png") &&
      reader.done() && (view == 1 || view == 2))
    return view - 1;
  return -1;
}

std::filesystem::path protocol_file(const std::filesystem::path& base, Cuhk03Boxes boxes) {
  const auto name = fmt::format("cuhk03_new_protocol_config_{}.mat", box_names[static_cast<int>(boxes)]);
  if (std::filesystem::is_regular_file(base / name)) return base / name;
  if (std::filesystem::is_regular_file(base / "cuhk03_release" / name)) return base / "cuhk03_release" / name;
  return base / name;  // named by the error
}

}  // namespace

std::string cuhk03_image_name(int pair, int person, int slot) {
  return fmt::format("{:01d}_{:03d}_{:01d}_{:02d}.png", pair + 1, person + 1, slot < 5 ? 1 : 2, slot + 1);
}

Splits CUHK03::load(const std::filesystem::path& root, const Options& options) {
  const auto base = release_base(root, release_folder);
  const auto mat_path = base / "cuhk03_release" / "cuhk-03.mat";
  require_file(mat_path, "CUHK03 needs cuhk03_release/cuhk-03.mat in --data-root or in its cuhk03/");
  const auto boxes = box_names[static_cast<int>(options.cuhk03_boxes)];
  const std::string boxes_name(boxes);
  const auto images = base / fmt::format("images_{}", boxes);
  std::optional<Cuhk03Protocol> protocol;
  std::filesystem::path protocol_path;
  if (!options.cuhk03_classic) {
    if (options.split_index != 0)
      throw UsageError(fmt::format("--split-index {}: CUHK03's new protocol has one split (0); the "
                                   "classic splits come with --cuhk03-classic", options.split_index));
    protocol_path = protocol_file(base, options.cuhk03_boxes);
    protocol = read_protocol(protocol_path);
  }
  const auto [people, tested] =
      read_release_in_child(mat_path, boxes_name.c_str(),
                            options.cuhk03_classic ? std::optional(options.split_index) : std::nullopt, images);

  std::vector<Entry> train, query, gallery;
  if (options.cuhk03_classic) {
    // torchreid: the test persons' images are both query and gallery (the evaluator keeps a
    // query's other-camera matches only); the others train.
    std::int64_t id = 0;
    for (const auto& person : people) {
      ++id;
      const bool is_test = tested.contains({person.pair + 1, person.person + 1});
      for (const auto slot : person.slots) {
        const auto name = cuhk03_image_name(person.pair, person.person, slot);
        Entry entry{.images = {images / name}, .pid = id, .camid = slot < 5 ? 0 : 1,
                    .frame = seed_name_frame(name)};
        if (is_test) {
          query.push_back(entry);
          gallery.push_back(std::move(entry));
        } else {
          train.push_back(std::move(entry));
        }
      }
    }
  } else {
    const auto entries = [&](const std::vector<std::int64_t>& indices, const char* variable) {
      std::vector<Entry> list;
      for (const auto index : indices) {
        if (static_cast<std::size_t>(index) > protocol->filelist.size())
          throw DataError(fmt::format("{}: '{}' holds index {}, past filelist's {} names",
                                      protocol_path.string(), variable, index, protocol->filelist.size()));
        const auto& name = protocol->filelist[static_cast<std::size_t>(index - 1)];
        const auto camera = view_of(name);
        if (camera < 0)
          throw DataError(fmt::format("{}: filelist{{{}}} = '{}' is not a CUHK03 image name (C_PPP_V_II.png)",
                                      protocol_path.string(), index, name));
        auto image = images / name;
        if (!std::filesystem::is_regular_file(image))
          throw DataError(fmt::format("{}: filelist{{{}}} names {}, which is not among the images of {}",
                                      protocol_path.string(), index, image.string(), mat_path.string()));
        list.push_back({.images = {std::move(image)},
                        .pid = protocol->labels[static_cast<std::size_t>(index - 1)],
                        .camid = camera,
                        .frame = seed_name_frame(name)});
      }
      return list;
    };
    train = entries(protocol->train_idx, "train_idx");
    query = entries(protocol->query_idx, "query_idx");
    gallery = entries(protocol->gallery_idx, "gallery_idx");
  }
  auto splits = finish_splits(std::move(train), std::move(query), std::move(gallery),
                              options.held_out);
  splits.info["boxes"] = boxes;
  splits.info["protocol"] = options.cuhk03_classic ? "classic" : "new";
  if (options.cuhk03_classic) splits.info["split_index"] = options.split_index;
  else splits.info["protocol_file"] = protocol_path.filename().string();
  splits.info["images"] = images.string();
  return splits;
}

void write_cuhk03_mat(const std::filesystem::path& path, const Cuhk03Release& release) {
  hdf5::Writer writer(path);
  for (const auto* boxes : {&release.detected, &release.labeled}) {
    std::vector<hobj_ref_t> pairs;
    for (const auto& pair : *boxes) {
      std::vector<hobj_ref_t> cells;  // persons × 10, row-major
      for (const auto& person : pair)
        for (const auto& image : person) cells.push_back(writer.image(image));
      pairs.push_back(writer.nested_cell(pair.size(), 10, cells));
    }
    writer.cell(boxes == &release.detected ? "detected" : "labeled", pairs.size(), 1, pairs);
  }
  std::vector<hobj_ref_t> sets;
  for (const auto& set : release.testsets) {
    std::vector<double> rows;
    for (const auto& [pair, person] : set) {
      rows.push_back(pair);
      rows.push_back(person);
    }
    sets.push_back(writer.matrix(set.size(), 2, rows));
  }
  writer.cell("testsets", sets.size(), 1, sets);
  writer.close();
}

void write_cuhk03_protocol(const std::filesystem::path& path, const Cuhk03Protocol& protocol) {
  const auto file = mat::create(path);
  std::size_t dims[2] = {protocol.filelist.size(), 1};
  auto* filelist = Mat_VarCreate("filelist", MAT_C_CELL, MAT_T_CELL, 2, dims, nullptr, 0);
  std::vector<double> cameras;
  for (std::size_t i = 0; i < protocol.filelist.size(); ++i) {
    Mat_VarSetCell(filelist, static_cast<int>(i), mat::text(protocol.filelist[i]));
    cameras.push_back(view_of(protocol.filelist[i]) + 1);
  }
  mat::write(file, path, filelist);
  // Integers (indexing with them is what torchreid does), as N×1 columns.
  const auto column = [&](const char* name, const std::vector<std::int64_t>& values) {
    std::vector<std::int32_t> data(values.begin(), values.end());
    std::size_t dims[2] = {data.size(), 1};
    mat::write(file, path, Mat_VarCreate(name, MAT_C_INT32, MAT_T_INT32, 2, dims, data.data(), 0));
  };
  column("labels", protocol.labels);
  column("camId", std::vector<std::int64_t>(cameras.begin(), cameras.end()));
  column("train_idx", protocol.train_idx);
  column("query_idx", protocol.query_idx);
  column("gallery_idx", protocol.gallery_idx);
}

void write_synthetic_cuhk03(const std::filesystem::path& root, std::uint64_t seed) {
  using namespace synthetic;
  const std::vector<int> persons_per_pair{20, 14, 10, 8, 8};
  const int total = 60;
  std::vector<std::int64_t> ids(static_cast<std::size_t>(total));
  std::iota(ids.begin(), ids.end(), 1);
  // Rendered once as an ordinary release into a scratch folder, then packed into the .mat.
  ReleaseSpec spec{.cameras = 2,
                   .image_size = {64, 128},
                   .train_pids = ids,
                   .test_pids = {},
                   .distractor_pids = {},
                   .cameras_per_id = {2, 2},
                   .train_per_camera = {3, 5},
                   .gallery_per_camera = {3, 5}};
  const auto base = root / release_folder;
  const auto scratch = base / ".render";
  std::map<std::pair<std::int64_t, int>, int> taken;  // (id, view) → images so far
  const auto sightings = write_release(scratch, spec, [](const Sighting& s) {
    return std::filesystem::path(fmt::format("{}_{}_{}.png", s.pid, s.camera, s.index));
  }, seed);

  Cuhk03Release release;
  release.labeled.resize(persons_per_pair.size());
  release.detected.resize(persons_per_pair.size());
  std::vector<std::pair<int, int>> where(static_cast<std::size_t>(total) + 1);  // id → (pair, person)
  for (int id = 1, pair = 0, person = 0; id <= total; ++id, ++person) {
    if (person == persons_per_pair[static_cast<std::size_t>(pair)]) { ++pair; person = 0; }
    where[static_cast<std::size_t>(id)] = {pair, person};
    release.labeled[static_cast<std::size_t>(pair)].emplace_back();
    release.detected[static_cast<std::size_t>(pair)].emplace_back();
  }
  for (const auto& s : sightings) {
    // Every 13th person is seen by one camera only, as some of the release's are.
    if (s.pid % 13 == 0 && s.camera == 1) continue;
    const int k = taken[{s.pid, s.camera}]++;
    const auto [pair, person] = where[static_cast<std::size_t>(s.pid)];
    const int slot = s.camera * 5 + k;
    auto image = cv::imread((scratch / s.path).string());
    // The detector's box: a looser crop of another size.
    cv::Mat detected;
    cv::resize(image(cv::Rect(2, 0, image.cols - 4, image.rows - 6)), detected, {56, 120});
    release.labeled[static_cast<std::size_t>(pair)][static_cast<std::size_t>(person)][static_cast<std::size_t>(slot)] = image;
    release.detected[static_cast<std::size_t>(pair)][static_cast<std::size_t>(person)][static_cast<std::size_t>(slot)] = detected;
  }
  std::filesystem::remove_all(scratch);

  std::mt19937_64 rng(seed);
  // Classic: 20 splits of 6 persons from the first three pairs.
  for (int s = 0; s < 20; ++s) {
    std::set<std::pair<int, int>> set;
    while (set.size() < 6) {
      const int pair = uniform_int(rng, 0, 2);
      set.emplace(pair + 1, uniform_int(rng, 0, persons_per_pair[static_cast<std::size_t>(pair)] - 1) + 1);
    }
    std::vector<std::array<int, 2>> rows;
    for (const auto& [pair, person] : set) rows.push_back({pair, person});
    release.testsets.push_back(rows);
  }
  std::filesystem::create_directories(base / "cuhk03_release");
  write_cuhk03_mat(base / "cuhk03_release" / "cuhk-03.mat", release);

  // New protocol: 32 training identities, 28 tested with one query per camera.
  std::vector<std::int64_t> order = ids;
  for (std::size_t i = order.size() - 1; i > 0; --i)
    std::swap(order[i], order[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<int>(i)))]);
  const std::set<std::int64_t> test_ids(order.begin() + 32, order.end());
  for (const auto boxes : {Cuhk03Boxes::detected, Cuhk03Boxes::labeled}) {
    const auto& cells = boxes == Cuhk03Boxes::labeled ? release.labeled : release.detected;
    Cuhk03Protocol protocol;
    std::mt19937_64 query_rng(seed + 7);  // the same queries for both box types
    for (std::int64_t id = 1; id <= total; ++id) {
      const auto [pair, person] = where[static_cast<std::size_t>(id)];
      const auto& slots = cells[static_cast<std::size_t>(pair)][static_cast<std::size_t>(person)];
      for (int view = 0; view < 2; ++view) {
        std::vector<std::int64_t> indices;
        for (int slot = view * 5; slot < view * 5 + 5; ++slot) {
          if (slots[static_cast<std::size_t>(slot)].empty()) continue;
          protocol.filelist.push_back(cuhk03_image_name(pair, person, slot));
          protocol.labels.push_back(id);
          indices.push_back(static_cast<std::int64_t>(protocol.filelist.size()));
        }
        if (indices.empty()) continue;
        if (!test_ids.contains(id)) {
          protocol.train_idx.insert(protocol.train_idx.end(), indices.begin(), indices.end());
          continue;
        }
        const auto pick = static_cast<std::size_t>(uniform_int(query_rng, 0, static_cast<int>(indices.size()) - 1));
        for (std::size_t i = 0; i < indices.size(); ++i)
          (i == pick ? protocol.query_idx : protocol.gallery_idx).push_back(indices[i]);
      }
    }
    write_cuhk03_protocol(base / fmt::format("cuhk03_new_protocol_config_{}.mat",
                                             box_names[static_cast<int>(boxes)]), protocol);
  }
  write_synthetic_readme(base / "README.txt", "CUHK03", seed);
}

void CUHK03::synthesize(const std::filesystem::path& root, const Options&) {
  write_synthetic_cuhk03(root);
}

}  // namespace fgreid::datasets
