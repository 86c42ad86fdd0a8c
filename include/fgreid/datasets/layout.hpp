#pragma once
// What the dataset policies share to read a release from disk: folders, file names and list
// files, each failure a DataError that starts with the path at fault.
#include <fgreid/datasets/splits.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid::datasets {

/// Reads a file name left to right; each step consumes its token or reports failure.
class NameReader {
 public:
  explicit NameReader(std::string_view text) : rest_(text) {}
  /// The reader keeps a view: a temporary string would be gone before the first step.
  explicit NameReader(std::string&&) = delete;

  bool literal(std::string_view token) {
    if (!rest_.starts_with(token)) return false;
    rest_.remove_prefix(token.size());
    return true;
  }

  /// An unsigned decimal that fits `Int`.
  template <class Int>
  bool number(Int& value) {
    const auto digits = std::min(rest_.find_first_not_of("0123456789"), rest_.size());
    if (digits == 0) return false;
    if (std::from_chars(rest_.data(), rest_.data() + digits, value).ec != std::errc{}) return false;
    rest_.remove_prefix(digits);
    return true;
  }

  /// Exactly `count` decimal digits (a fixed-width field such as `c003`).
  template <class Int>
  bool digits(std::size_t count, Int& value) {
    if (rest_.size() < count || rest_.substr(0, count).find_first_not_of("0123456789") !=
                                    std::string_view::npos)
      return false;
    if (std::from_chars(rest_.data(), rest_.data() + count, value).ec != std::errc{}) return false;
    rest_.remove_prefix(count);
    return true;
  }

  [[nodiscard]] bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

/// Nothing when `folder` is a directory, else DataError "<folder>: folder not found (<needs>)".
/// `needs` says what the release expects, e.g. "DukeMTMC-reID needs bounding_box_train/, …".
void require_folder(const std::filesystem::path& folder, std::string_view needs);

/// Nothing when `file` is a regular file, else DataError "<file>: file not found (<needs>)".
void require_file(const std::filesystem::path& file, std::string_view needs);

/// `root / release` when that folder exists, else `root`: a release unpacks into its own
/// folder, and users often point --data-root at either.
[[nodiscard]] std::filesystem::path release_base(const std::filesystem::path& root,
                                                 std::string_view release);

/// The regular `.jpg` files directly in `folder`, sorted by file name (other files, and
/// folders named like images, are not images of the release).
[[nodiscard]] std::vector<std::filesystem::path> jpg_files(const std::filesystem::path& folder);

/// The seed's frame number of an image name, as its st-ReID generators read it
/// (tools/generate_seq_*.py): `int(name.split("_")[-1].split(".")[0][skip:])`, the last
/// `_`-separated field up to its first `.`, less its first `skip` characters. -1 when that is
/// not a number (where the seed would fail).
[[nodiscard]] std::int64_t seed_name_frame(std::string_view name, std::size_t skip = 0);

/// Relabels training pids 0..N-1 in ascending order of the release's ids, in place.
void relabel_ascending(std::vector<Entry>& train);

/// One non-empty line of a list file, split at white space.
struct ListLine {
  std::size_t number = 0;  ///< 1-based line number, for messages
  std::vector<std::string> fields;
};

/// A list file of the release (`list_train.txt`, `vric_probe.txt`, ...): the non-empty lines,
/// each with exactly `fields` fields. A missing file, or a line with another count, is a
/// DataError naming the file (and line); `format` describes a line, e.g. "name pid camera".
[[nodiscard]] std::vector<ListLine> read_list(const std::filesystem::path& list,
                                              std::size_t fields, std::string_view format);

/// Field `field` of `line` as a non-negative integer; else DataError "<list>:<line>: …".
[[nodiscard]] std::int64_t list_integer(const std::filesystem::path& list, const ListLine& line,
                                        std::size_t field, std::string_view what);

/// `folder / relative` when that image exists; else DataError naming the list, its line and
/// the missing image.
[[nodiscard]] std::filesystem::path listed_image(const std::filesystem::path& list,
                                                 const ListLine& line,
                                                 const std::filesystem::path& folder,
                                                 const std::string& relative);

}  // namespace fgreid::datasets
