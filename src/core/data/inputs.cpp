#include <fgreid/data/inputs.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <string>

namespace fgreid::data {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& file) {
  static constexpr std::array<std::string_view, 7> kExtensions{".jpg", ".jpeg", ".png", ".bmp",
                                                               ".webp", ".tif", ".tiff"};
  std::string extension = file.extension().string();
  std::ranges::transform(extension, extension.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::ranges::find(kExtensions, extension) != kExtensions.end();
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative matching with one backtrack point: the last `*` seen.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

bool holds_images(const fs::path& folder) {
  std::error_code error;
  for (const auto& item : fs::directory_iterator(folder, error))
    if (item.is_regular_file() && is_image_file(item.path())) return true;
  return false;
}

/// Whether `path` is what `modality` extracts: an image file, or a folder of frames.
bool is_input(const fs::path& path, Modality modality) {
  return modality == Modality::image ? fs::is_regular_file(path) && is_image_file(path)
                                     : fs::is_directory(path) && holds_images(path);
}

std::string_view wanted(Modality modality) {
  return modality == Modality::image ? "images" : "clip folders (folders of frames)";
}

std::vector<fs::path> under_folder(const fs::path& root, Modality modality) {
  std::vector<fs::path> found;
  if (is_input(root, modality)) found.push_back(root);
  for (const auto& item : fs::recursive_directory_iterator(
           root, fs::directory_options::follow_directory_symlink))
    if (is_input(item.path(), modality)) found.push_back(item.path());
  std::ranges::sort(found);
  return found;
}

bool has_wildcard(std::string_view text) { return text.find_first_of("*?") != std::string_view::npos; }

/// Expands the components of a glob one at a time from the folders matched so far.
std::vector<fs::path> expand_glob(const fs::path& pattern, Modality modality) {
  std::vector<fs::path> matched{pattern.is_absolute() ? pattern.root_path() : fs::path{}};
  for (const auto& component : pattern.relative_path()) {
    std::vector<fs::path> next;
    for (const auto& base : matched) {
      const auto folder = base.empty() ? fs::path{"."} : base;
      if (!has_wildcard(component.string())) {
        if (fs::exists(base / component)) next.push_back(base / component);
        continue;
      }
      std::error_code error;
      for (const auto& item : fs::directory_iterator(folder, error))
        if (glob_match(component.string(), item.path().filename().string()))
          next.push_back(base / item.path().filename());
    }
    matched = std::move(next);
  }
  std::erase_if(matched, [&](const fs::path& path) { return !is_input(path, modality); });
  std::ranges::sort(matched);
  return matched;
}

std::vector<fs::path> from_list(const fs::path& list, Modality modality) {
  std::ifstream in(list);
  if (!in) throw DataError(fmt::format("{}: cannot read the list file", list.string()));
  std::vector<fs::path> found;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    const fs::path named = line.substr(first, last - first + 1);
    const auto path = named.is_absolute() ? named : list.parent_path() / named;
    if (!fs::exists(path))
      throw DataError(fmt::format("{}:{}: {}: no such file or folder", list.string(), number,
                                  path.string()));
    if (!is_input(path, modality))
      throw DataError(fmt::format("{}:{}: {}: not one of the {} this model extracts", list.string(),
                                  number, path.string(), wanted(modality)));
    found.push_back(path);
  }
  return found;
}

}  // namespace

std::vector<fs::path> clip_frames(const fs::path& folder) {
  std::vector<fs::path> frames;
  std::error_code error;
  for (const auto& item : fs::directory_iterator(folder, error))
    if (item.is_regular_file() && is_image_file(item.path())) frames.push_back(item.path());
  if (frames.empty()) throw DataError(fmt::format("{}: a clip folder without images", folder.string()));
  std::ranges::sort(frames);
  return frames;
}

std::vector<fs::path> find_inputs(std::string_view source, Modality modality) {
  const fs::path path{source};
  std::vector<fs::path> found;
  if (fs::is_directory(path)) {
    found = under_folder(path, modality);
  } else if (fs::is_regular_file(path)) {
    if (is_image_file(path)) {
      if (modality == Modality::video)
        throw DataError(fmt::format("{}: an image, but this model extracts clips: name a folder "
                                    "of frames, a glob or a list of them", path.string()));
      found = {path};
    } else {
      found = from_list(path, modality);
    }
  } else if (has_wildcard(source)) {
    found = expand_glob(path, modality);
  } else {
    throw DataError(fmt::format("{}: no such file, folder or glob", path.string()));
  }
  if (found.empty())
    throw DataError(fmt::format("{}: names no {}", path.string(), wanted(modality)));
  return found;
}

}  // namespace fgreid::data
