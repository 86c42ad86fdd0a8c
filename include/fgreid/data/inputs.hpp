#pragma once
// What `--extract-images SOURCE` names: the user's own images (or, for a video model, clips as
// folders of frames), found without a dataset layout.
//   a folder      every image under it, recursively (video: every folder holding images)
//   a glob        `photos/*/cam1_*.jpg`: `*` and `?` match within one path component
//   a list file   one path per line, relative to the list's folder (`#` starts a comment)
// Entries come back sorted by path (a list keeps its own order), so a run is reproducible.
#include <fgreid/modality.hpp>

#include <filesystem>
#include <string_view>
#include <vector>

namespace fgreid::data {

/// Whether `file`'s extension is one of the image formats the loader decodes (.jpg, .jpeg,
/// .png, .bmp, .webp, .tif, .tiff; any case).
[[nodiscard]] bool is_image_file(const std::filesystem::path& file);

/// The images of a clip folder, sorted by file name; DataError naming the folder when it has
/// none.
[[nodiscard]] std::vector<std::filesystem::path> clip_frames(const std::filesystem::path& folder);

/// The images (Modality::image) or clip folders (Modality::video) that `source` names. A source
/// that matches nothing, a list line naming a missing file or folder, or an image where a clip
/// folder is expected (and the other way round) is a DataError naming the source (and line).
[[nodiscard]] std::vector<std::filesystem::path> find_inputs(std::string_view source,
                                                             Modality modality);

/// Whether `name` matches `pattern` (`*`: any run of characters, `?`: one character).
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view name);

}  // namespace fgreid::data
