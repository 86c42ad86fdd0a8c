#include <fgreid/datasets/custom.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <tuple>

namespace fgreid::datasets {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 3> subset_names{"train", "query", "gallery"};
const std::vector<std::string_view> image_columns{"path", "pid", "camid", "[frame]"};
const std::vector<std::string_view> clip_columns{"path", "pid", "camid", "tracklet"};

constexpr std::string_view needs =
    "your own data needs train.csv, query.csv and gallery.csv, or train/, query/ and gallery/ "
    "folders of <pid>/<camid>/…, in --data-root (README: \"Your own data\")";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

/// The fields of one CSV line: RFC 4180 quotes (on one line), blanks around fields dropped;
/// nullopt for an unterminated quote.
std::optional<std::vector<std::string>> split_csv(std::string_view text) {
  std::vector<std::string> fields;
  std::size_t at = 0;
  while (true) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    std::string field;
    if (at < text.size() && text[at] == '"') {
      for (++at;; ++at) {
        if (at >= text.size()) return std::nullopt;
        if (text[at] == '"') {
          if (at + 1 < text.size() && text[at + 1] == '"') { field += '"'; ++at; continue; }
          ++at;
          break;
        }
        field += text[at];
      }
      const auto comma = text.find(',', at);
      if (!trim(text.substr(at, comma - at)).empty()) return std::nullopt;  // text after a quote
      at = comma;
    } else {
      const auto comma = text.find(',', at);
      field = std::string(trim(text.substr(at, comma - at)));
      at = comma;
    }
    fields.push_back(std::move(field));
    if (at == std::string_view::npos) return fields;
    ++at;
  }
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

/// Checks a header row against `header` (bracketed names optional, at the end).
void check_header(const fs::path& list, const CsvRow& row, const std::vector<std::string_view>& header) {
  const auto required = static_cast<std::size_t>(
      std::ranges::count_if(header, [](std::string_view name) { return !name.starts_with('['); }));
  bool fits = row.fields.size() >= required && row.fields.size() <= header.size();
  for (std::size_t i = 0; fits && i < row.fields.size(); ++i) {
    auto name = header[i];
    if (name.starts_with('[')) name = name.substr(1, name.size() - 2);
    fits = equal_ignoring_case(row.fields[i], name);
  }
  if (!fits)
    throw DataError(fmt::format("{}:{}: header \"{}\" does not match the columns {}", list.string(),
                                row.line, fmt::join(row.fields, ","), fmt::join(header, ",")));
}

/// An integer field of `row`, at least `minimum`; else DataError naming list, line and column.
std::int64_t integer_field(const fs::path& list, const CsvRow& row, std::size_t column,
                           std::string_view what, std::int64_t minimum, std::string_view meaning) {
  const auto& text = row.fields[column];
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < minimum)
    throw DataError(fmt::format("{}:{}: {} \"{}\" is not {}", list.string(), row.line, what, text, meaning));
  return value;
}

constexpr std::string_view pid_meaning = "an integer >= -1 (-1 marks junk)";
constexpr std::string_view camid_meaning = "a non-negative integer";

/// What is wrong with the first bytes of `image` for the loader, or nothing: the formats it
/// decodes are JPEG, PNG and BMP. Reading 8 bytes per image at load names an empty or foreign
/// file (an HTML error page saved as .jpg) before a run writes anything, not epochs into it.
std::optional<std::string> image_header_problem(const fs::path& image) {
  std::ifstream in(image, std::ios::binary);
  std::array<unsigned char, 8> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto size = static_cast<std::size_t>(in.gcount());
  if (!in && !in.eof()) return "cannot be read";
  if (size == 0) return "empty file (0 bytes)";
  const auto starts = [&](std::initializer_list<unsigned char> magic) {
    return size >= magic.size() && std::equal(magic.begin(), magic.end(), head.begin());
  };
  if (starts({0xFF, 0xD8, 0xFF}) || starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}) || starts({'B', 'M'}))
    return std::nullopt;
  return "not a JPEG, PNG or BMP image (corrupt, or another format)";
}

/// The image a row names: relative to the list's folder unless absolute; it must be a file
/// of a format the loader decodes, and appear once in the list.
fs::path listed_file(const fs::path& list, const CsvRow& row, std::map<fs::path, std::size_t>& seen) {
  if (row.fields[0].empty()) throw DataError(fmt::format("{}:{}: empty path", list.string(), row.line));
  const fs::path path = fs::path(row.fields[0]).is_absolute() ? fs::path(row.fields[0])
                                                               : list.parent_path() / row.fields[0];
  if (!fs::is_regular_file(path))
    throw DataError(fmt::format("{}:{}: {}: image not found", list.string(), row.line, path.string()));
  if (const auto problem = image_header_problem(path))
    throw DataError(fmt::format("{}:{}: {}: {}", list.string(), row.line, path.string(), *problem));
  if (const auto [first, fresh] = seen.emplace(path.lexically_normal(), row.line); !fresh)
    throw DataError(fmt::format("{}:{}: {} is listed twice (also on line {})", list.string(), row.line,
                                row.fields[0], first->second));
  return path;
}

void require_columns(const fs::path& list, const CsvRow& row, std::size_t least, std::size_t most,
                     const std::vector<std::string_view>& columns) {
  if (row.fields.size() < least || row.fields.size() > most)
    throw DataError(fmt::format("{}:{}: {} fields where {} are expected ({})", list.string(), row.line,
                                row.fields.size(), least == most ? fmt::format("{}", least)
                                                                 : fmt::format("{} or {}", least, most),
                                fmt::join(columns, ",")));
}

/// `path,pid,camid[,frame]`: one entry a row, junk dropped.
std::vector<Entry> read_image_list(const fs::path& list) {
  std::vector<Entry> entries;
  std::map<fs::path, std::size_t> seen;
  for (const auto& row : read_csv(list, image_columns)) {
    require_columns(list, row, 3, 4, image_columns);
    auto path = listed_file(list, row, seen);
    const auto pid = integer_field(list, row, 1, "pid", -1, pid_meaning);
    const auto camid = integer_field(list, row, 2, "camid", 0, camid_meaning);
    const bool framed = row.fields.size() == 4 && !row.fields[3].empty();
    const auto frame = framed ? integer_field(list, row, 3, "frame", 0, "a non-negative integer (or empty)") : -1;
    if (pid != -1) entries.push_back({.images = {std::move(path)}, .pid = pid, .camid = camid, .frame = frame});
  }
  return entries;
}

/// `path,pid,camid,tracklet`: rows grouped by (pid, camid, tracklet) into tracklets, in the
/// order of their first rows, frames in list order; junk dropped.
std::vector<Entry> read_clip_list(const fs::path& list) {
  std::vector<Entry> tracklets;
  std::map<std::tuple<std::int64_t, std::int64_t, std::string>, std::size_t> index_of;
  std::map<fs::path, std::size_t> seen;
  for (const auto& row : read_csv(list, clip_columns)) {
    require_columns(list, row, 4, 4, clip_columns);
    auto path = listed_file(list, row, seen);
    const auto pid = integer_field(list, row, 1, "pid", -1, pid_meaning);
    const auto camid = integer_field(list, row, 2, "camid", 0, camid_meaning);
    if (row.fields[3].empty()) throw DataError(fmt::format("{}:{}: empty tracklet", list.string(), row.line));
    if (pid == -1) continue;
    const auto [at, fresh] = index_of.emplace(std::tuple{pid, camid, row.fields[3]}, tracklets.size());
    if (fresh) tracklets.push_back({.images = {}, .pid = pid, .camid = camid, .frame = -1});
    tracklets[at->second].images.push_back(std::move(path));
  }
  return tracklets;
}

bool is_image(const fs::path& path) {
  auto extension = path.extension().string();
  std::ranges::transform(extension, extension.begin(), [](unsigned char c) { return std::tolower(c); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png" || extension == ".bmp";
}

/// The folders and the image files directly in `folder`, each in natural order; hidden names
/// (.DS_Store, .ipynb_checkpoints) and other files are not the data's.
struct FolderContents {
  std::vector<fs::path> folders, images;
};

FolderContents contents(const fs::path& folder) {
  FolderContents found;
  for (const auto& item : fs::directory_iterator(folder)) {
    if (item.path().filename().string().starts_with('.')) continue;
    if (item.is_directory())
      found.folders.push_back(item.path());
    else if (item.is_regular_file() && is_image(item.path()))
      found.images.push_back(item.path());
  }
  for (const auto& image : found.images)
    if (const auto problem = image_header_problem(image))
      throw DataError(fmt::format("{}: {}", image.string(), *problem));
  const auto by_name = [](const fs::path& a, const fs::path& b) {
    return natural_less(a.filename().string(), b.filename().string());
  };
  std::ranges::sort(found.folders, by_name);
  std::ranges::sort(found.images, by_name);
  return found;
}

/// The integer a folder is named, at least `minimum`; else DataError naming the folder.
std::int64_t folder_number(const fs::path& folder, std::int64_t minimum, std::string_view what) {
  const auto name = folder.filename().string();
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
  if (ec != std::errc{} || end != name.data() + name.size() || value < minimum)
    throw DataError(fmt::format("{}: not a {} folder (expected <root>/<subset>/<pid>/<camid>/, "
                                "pid an integer >= -1, camid >= 0)", folder.string(), what));
  return value;
}

/// The tracklets or images of one camera folder of a tree.
void read_camera_folder(const fs::path& camera, std::int64_t pid, std::int64_t camid, Modality modality,
                        std::vector<Entry>& entries) {
  auto found = contents(camera);
  if (modality == Modality::image) {
    if (!found.folders.empty())
      throw DataError(fmt::format("{}: a folder among a camera's images (tracklet folders of frames "
                                  "are for recipe_custom_video)", found.folders.front().string()));
    if (found.images.empty()) throw DataError(fmt::format("{}: camera folder without images "
                                                          "(.jpg, .jpeg, .png, .bmp)", camera.string()));
    for (auto& image : found.images) entries.push_back({.images = {std::move(image)}, .pid = pid, .camid = camid, .frame = -1});
    return;
  }
  if (!found.images.empty())
    throw DataError(fmt::format("{}: a frame outside a tracklet folder (expected <pid>/<camid>/<tracklet>/<frames>)",
                                found.images.front().string()));
  if (found.folders.empty()) throw DataError(fmt::format("{}: camera folder without tracklet folders", camera.string()));
  for (const auto& tracklet : found.folders) {
    auto frames = contents(tracklet);
    if (!frames.folders.empty())
      throw DataError(fmt::format("{}: a folder inside a tracklet folder", frames.folders.front().string()));
    if (frames.images.empty())
      throw DataError(fmt::format("{}: tracklet folder without frames (.jpg, .jpeg, .png, .bmp)", tracklet.string()));
    entries.push_back({.images = std::move(frames.images), .pid = pid, .camid = camid, .frame = -1});
  }
}

/// `<subset>/<pid>/<camid>/…` of a tree, junk (pid -1) dropped.
std::vector<Entry> read_tree(const fs::path& subset, Modality modality) {
  require_folder(subset, needs);
  auto persons = contents(subset);
  if (!persons.images.empty())
    throw DataError(fmt::format("{}: an image outside a person folder (expected <pid>/<camid>/…)",
                                persons.images.front().string()));
  std::vector<Entry> entries;
  for (const auto& person : persons.folders) {
    const auto pid = folder_number(person, -1, "person");
    auto cameras = contents(person);
    if (!cameras.images.empty())
      throw DataError(fmt::format("{}: an image outside a camera folder (expected <pid>/<camid>/…)",
                                  cameras.images.front().string()));
    for (const auto& camera : cameras.folders) {
      const auto camid = folder_number(camera, 0, "camera");
      if (pid != -1) read_camera_folder(camera, pid, camid, modality, entries);
    }
  }
  return entries;
}

}  // namespace

std::vector<CsvRow> read_csv(const fs::path& list, const std::vector<std::string_view>& columns) {
  require_file(list, needs);
  std::ifstream in(list);
  if (!in) throw DataError(fmt::format("{}: cannot read the list", list.string()));
  std::vector<CsvRow> rows;
  std::string text;
  bool first = true;
  for (std::size_t number = 1; std::getline(in, text); ++number) {
    const auto line = trim(text);
    if (line.empty() || line.starts_with('#')) continue;
    auto fields = split_csv(line);
    if (!fields) throw DataError(fmt::format("{}:{}: unterminated quote, or text after a closing quote",
                                             list.string(), number));
    CsvRow row{.line = number, .fields = std::move(*fields)};
    const bool header = first && equal_ignoring_case(row.fields.front(), "path");
    first = false;
    if (header) {
      check_header(list, row, columns);
      continue;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

bool natural_less(std::string_view a, std::string_view b) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      auto run = [&](std::string_view s, std::size_t& at) {
        const auto start = at;
        while (at < s.size() && digit(s[at])) ++at;
        auto number = s.substr(start, at - start);
        return number.substr(std::min(number.find_first_not_of('0'), number.size()));
      };
      const auto x = run(a, i), y = run(b, j);
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
  return a < b;  // equal as numbers (007 and 7): fall back to the text, for a total order
}

Splits load_custom(const fs::path& root, Modality modality, const ValidationOptions& options) {
  const bool lists = fs::exists(root / "train.csv");
  std::array<std::vector<Entry>, 3> subsets;
  for (std::size_t i = 0; i < subsets.size(); ++i) {
    const std::string name(subset_names[i]);
    if (lists)
      subsets[i] = modality == Modality::image ? read_image_list(root / (name + ".csv"))
                                               : read_clip_list(root / (name + ".csv"));
    else
      subsets[i] = read_tree(root / name, modality);
    const auto source = lists ? root / (name + ".csv") : root / name;
    if (subsets[i].empty() && (i == 0 || options.validation == 0.0))
      throw DataError(fmt::format("{}: no {} (junk, pid -1, is dropped)", source.string(),
                                  modality == Modality::image ? "images" : "tracklets"));
  }
  auto splits = finish_splits(std::move(subsets[0]), std::move(subsets[1]), std::move(subsets[2]), options);
  splits.info["layout"] = lists ? "list files" : "folder tree";
  return splits;
}

}  // namespace fgreid::datasets
