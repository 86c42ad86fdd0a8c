// MARS's name-list parser and tracklet rows, reached from fuzz_datasets (access.hpp).
#include "../../src/core/datasets/mars.cpp"

#include "access.hpp"

namespace fgreid::fuzz {

void mars_names(const std::filesystem::path& names_file, std::string_view rows) {
  const auto names = datasets::read_names(names_file);
  // Each 4 bytes of `rows` make one row [first last pid camera], small signed numbers.
  const std::size_t count = std::min<std::size_t>(rows.size() / 4, 16);
  std::vector<double> values(count * 4);
  for (std::size_t r = 0; r < count; ++r)
    for (std::size_t c = 0; c < 4; ++c)
      values[r + c * count] = static_cast<double>(static_cast<std::int8_t>(rows[r * 4 + c]));
  const datasets::TrackTable table{names_file.parent_path() / "tracks_train_info.mat",
                                   "track_train_info", {count, 4, std::move(values)}};
  for (std::size_t row = 0; row < count; ++row)
    (void)datasets::tracklet(table, row, names, names_file, names_file.parent_path() / "bbox_train");
}

}  // namespace fgreid::fuzz
