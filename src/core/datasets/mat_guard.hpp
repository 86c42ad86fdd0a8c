#pragma once
// A size check of MATLAB v4/v5 files before matio reads them. matio allocates what an array's
// header claims (its dimensions, a cell's element count, a name's length) before it reads the
// data, so a few hundred hostile bytes made it allocate hundreds of GB or touch 4 GB
// (fuzz/mat5.cpp). Here every array of the file, inside cells, structs and compressed
// elements too, must fit in the bytes that hold it. Private to src/core/datasets.
#include <filesystem>

namespace fgreid::datasets::mat {

/// DataError "<path>: …" when an array of the v4 or v5 file `path` claims more elements than
/// its bytes can hold, or the file's elements run past its end. v7.3 (HDF5) files pass.
void check_sizes(const std::filesystem::path& path);

}  // namespace fgreid::datasets::mat
