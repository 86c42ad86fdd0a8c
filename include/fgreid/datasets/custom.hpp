#pragma once
// The user's own data, in either of two layouts under --data-root (README, "Your own data"):
//
//   list files   <root>/train.csv, query.csv, gallery.csv
//                images: path,pid,camid[,frame]   clips: path,pid,camid,tracklet (one row a frame)
//   folder tree  <root>/{train,query,gallery}/<pid>/<camid>/<image>            (images)
//                <root>/{train,query,gallery}/<pid>/<camid>/<tracklet>/<frame> (clips)
//
// The list files win when train.csv is there. In a list, a path is relative to the list's
// folder (or absolute); a first row `path,pid,...` is a header; `#` starts a comment line;
// a field may be quoted as in RFC 4180 ("a,b.jpg", "" for a quote); blanks around fields are
// dropped. pid -1 marks junk (dropped, as Market-1501's); other pids and camids are
// non-negative integers, kept as written (query/gallery) or relabelled 0..N-1 (train). A
// clip's frames are its rows in list order; in a tree, its files in natural order (2 before
// 10). A frame number is optional (images only; -1 = unknown, which only --st-reid refuses).
// An image must exist and start as a JPEG, PNG or BMP (8 bytes read at load). Every malformed
// row names the list and its line, every malformed tree the folder or file.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/validation.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid::datasets {

/// One data row of a CSV list: its fields, unquoted and trimmed, and its 1-based line.
struct CsvRow {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

/// The data rows of `list`: blank and `#` lines skipped, a first row whose first field is
/// `path` skipped as the header (DataError when its columns are not `header`'s, in order; a
/// trailing column of `header` in brackets is optional). DataError "<list>:<line>: …" for an
/// unterminated quote.
[[nodiscard]] std::vector<CsvRow> read_csv(const std::filesystem::path& list,
                                           const std::vector<std::string_view>& header);

/// Whether `a` sorts before `b` with digit runs compared as numbers (frame2 < frame10).
[[nodiscard]] bool natural_less(std::string_view a, std::string_view b);

/// Reads the custom layouts above for images (one file an entry) or clips (a tracklet an
/// entry): list files or folder tree, junk dropped, training pids relabelled, `validation`
/// applied (validation.hpp); `info` says which layout and files were read.
[[nodiscard]] Splits load_custom(const std::filesystem::path& root, Modality modality,
                                 const ValidationOptions& options);

/// The synthetic stand-in of the image layouts: ~100 training and ~100 test identities on 6
/// cameras, images in the folder tree and list files (with frame numbers) naming them.
void write_synthetic_custom_images(const std::filesystem::path& root, std::uint64_t seed = 1);

/// The synthetic stand-in of the clip layout: 60 training and 60 test identities on 6
/// cameras, tracklets of 3–16 frames in the folder tree.
void write_synthetic_custom_video(const std::filesystem::path& root, std::uint64_t seed = 1);

/// Your own images: list files or a folder tree (above).
struct CustomImages {
  static constexpr std::string_view name = "Custom images";
  static constexpr Modality modality = Modality::image;
  using Options = ValidationOptions;

  static Splits load(const std::filesystem::path& root, const Options& options) {
    return load_custom(root, modality, options);
  }
  static void synthesize(const std::filesystem::path& root, const Options&) {
    write_synthetic_custom_images(root);
  }
};

/// Your own clips: tracklets of frames in list files or a folder tree (above).
struct CustomVideo {
  static constexpr std::string_view name = "Custom video";
  static constexpr Modality modality = Modality::video;
  using Options = ValidationOptions;

  static Splits load(const std::filesystem::path& root, const Options& options) {
    return load_custom(root, modality, options);
  }
  static void synthesize(const std::filesystem::path& root, const Options&) {
    write_synthetic_custom_video(root);
  }
};

static_assert(Dataset<CustomImages>);
static_assert(Dataset<CustomVideo>);

}  // namespace fgreid::datasets
