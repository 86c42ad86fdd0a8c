#pragma once
// Entry points into readers that their source files keep private (anonymous namespaces): each
// access/*.cpp includes one reader source and forwards to its parsers, so that the harnesses
// reach exactly the code a dataset load runs on the file. For fuzzing only.
#include <filesystem>
#include <string_view>

namespace fgreid::fuzz {

/// MARS: info/train_name.txt's frame names (read_names), then tracklet rows [first last pid
/// camera] over them, as MARS::load pairs them with tracks_*_info.mat.
void mars_names(const std::filesystem::path& names_file, std::string_view rows);

/// CUHK03's new protocol .mat (matio, v5): read_protocol.
void cuhk03_protocol(const std::filesystem::path& file);

/// CUHK03's cuhk-03.mat (HDF5, v7.3) as a classic-protocol load reads it, in a child process:
/// the cell walk of `boxes`, the classic split `index` and every image the walk found, extracted
/// into a scratch folder.
void cuhk03_release(const std::filesystem::path& file, bool labeled, int split_index);

/// A numeric matrix `variable` of a .mat file, v5 or v7.3, as read_mat_matrix reads it (MARS,
/// iLIDS-VID); v7.3 files in a child process whose coverage counts.
void mat_matrix(const std::filesystem::path& file, std::string_view variable);

/// GRID's features_and_partitions.mat (matio, v5): read_train_ids.
void grid_partitions(const std::filesystem::path& file, int split_index);

}  // namespace fgreid::fuzz
