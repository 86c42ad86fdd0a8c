#pragma once
// What the video datasets (MARS, iLIDS-VID, PRID-2011, DukeMTMC-VideoReID) share: an Entry is
// a tracklet, its `images` the frames in temporal order; the summary counts tracklets and
// frames per tracklet.
#include <fgreid/datasets/splits.hpp>
#include <fgreid/datasets/validation.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace fgreid::datasets {

/// `{"train":{"ids","tracklets","cameras","frames":{"total","min","mean","max"}},"query":…,
/// "gallery":…}` plus `info` under "split" when it is not empty. ids = distinct pids, cameras =
/// distinct camids, tracklets = entries (torchreid's counts); a subset without tracklets has
/// frames {"total": 0} only.
[[nodiscard]] nlohmann::json summarize_video(const Splits& splits);

/// The regular files directly in `folder` whose extension is `extension` (".png"), sorted by
/// file name: the frames of a tracklet folder.
[[nodiscard]] std::vector<std::filesystem::path> frame_files(const std::filesystem::path& folder,
                                                             std::string_view extension);

/// The sub-folders of `folder`, sorted by name.
[[nodiscard]] std::vector<std::filesystem::path> sub_folders(const std::filesystem::path& folder);

/// The first of `root / candidate` that holds `marker` (a folder or file of the release), else
/// `root`: releases unpack into folders whose names vary between the official archive,
/// torchreid and the seed.
[[nodiscard]] std::filesystem::path find_release_base(const std::filesystem::path& root,
                                                      std::initializer_list<std::string_view> candidates,
                                                      const std::filesystem::path& marker);

/// The person number of a folder named `prefix` + digits (person001, person_0001); DataError
/// naming the folder otherwise.
[[nodiscard]] std::int64_t person_number(const std::filesystem::path& folder, std::string_view prefix);

/// iLIDS-VID's and PRID-2011's protocol over person folders of `.png` frames in two camera
/// folders: the train persons' tracklets of both cameras train; each test person's camera-1
/// tracklet is a query (camid 0), its camera-2 tracklet the gallery (camid 1). pids are the
/// persons' numbers (`prefix` + digits). A person folder missing from a camera, or without
/// frames, is a DataError naming it and `split_source` (the file that names the person).
[[nodiscard]] Splits two_camera_splits(const std::array<std::filesystem::path, 2>& cameras,
                                       const std::vector<std::string>& train_persons,
                                       const std::vector<std::string>& test_persons,
                                       std::string_view prefix,
                                       const std::filesystem::path& split_source,
                                       const ValidationOptions& validation);

}  // namespace fgreid::datasets
