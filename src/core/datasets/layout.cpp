#include <fgreid/datasets/layout.hpp>

#include <charconv>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

namespace fgreid::datasets {

void require_folder(const std::filesystem::path& folder, std::string_view needs) {
  if (!std::filesystem::is_directory(folder))
    throw DataError(fmt::format("{}: folder not found ({})", folder.string(), needs));
}

void require_file(const std::filesystem::path& file, std::string_view needs) {
  if (!std::filesystem::is_regular_file(file))
    throw DataError(fmt::format("{}: file not found ({})", file.string(), needs));
}

std::int64_t seed_name_frame(std::string_view name, std::size_t skip) {
  if (const auto underscore = name.rfind('_'); underscore != std::string_view::npos) name.remove_prefix(underscore + 1);
  name = name.substr(0, name.find('.'));
  if (name.size() <= skip) return -1;
  name.remove_prefix(skip);
  std::int64_t frame = -1;
  const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), frame);
  return error == std::errc() && end == name.data() + name.size() && frame >= 0 ? frame : -1;
}

std::filesystem::path release_base(const std::filesystem::path& root, std::string_view release) {
  const auto nested = root / release;
  return std::filesystem::is_directory(nested) ? nested : root;
}

std::vector<std::filesystem::path> jpg_files(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  for (const auto& item : std::filesystem::directory_iterator(folder))
    if (item.is_regular_file() && item.path().extension() == ".jpg") files.push_back(item.path());
  std::ranges::sort(files, {}, [](const auto& path) { return path.filename(); });
  return files;
}

void relabel_ascending(std::vector<Entry>& train) {
  std::map<std::int64_t, std::int64_t> label_of;  // ordered: labels follow the release's ids
  for (const auto& entry : train) label_of.emplace(entry.pid, 0);
  std::int64_t next = 0;
  for (auto& [pid, label] : label_of) label = next++;
  for (auto& entry : train) entry.pid = label_of.at(entry.pid);
}

std::vector<ListLine> read_list(const std::filesystem::path& list, std::size_t fields,
                                std::string_view format) {
  require_file(list, fmt::format("a list of \"{}\" lines", format));
  std::ifstream in(list);
  if (!in) throw DataError(fmt::format("{}: cannot read the list", list.string()));
  std::vector<ListLine> lines;
  std::string text;
  for (std::size_t number = 1; std::getline(in, text); ++number) {
    std::istringstream words(text);
    ListLine line{.number = number, .fields = {}};
    for (std::string word; words >> word;) line.fields.push_back(std::move(word));
    if (line.fields.empty()) continue;  // a trailing blank line
    if (line.fields.size() != fields)
      throw DataError(fmt::format("{}:{}: expected \"{}\", found \"{}\"", list.string(), number,
                                  format, text));
    lines.push_back(std::move(line));
  }
  return lines;
}

std::int64_t list_integer(const std::filesystem::path& list, const ListLine& line,
                          std::size_t field, std::string_view what) {
  const auto& text = line.fields.at(field);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0)
    throw DataError(fmt::format("{}:{}: {} \"{}\" is not a non-negative integer", list.string(),
                                line.number, what, text));
  return value;
}

std::filesystem::path listed_image(const std::filesystem::path& list, const ListLine& line,
                                   const std::filesystem::path& folder,
                                   const std::string& relative) {
  auto image = folder / relative;
  if (!std::filesystem::is_regular_file(image))
    throw DataError(fmt::format("{}:{}: lists {}, which is not there", list.string(), line.number,
                                image.string()));
  return image;
}

}  // namespace fgreid::datasets
