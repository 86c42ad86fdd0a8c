#pragma once
// Numeric matrices in MATLAB files (through matio): the metadata of the video releases
// (MARS' tracks_*_info.mat and query_IDX.mat, iLIDS-VID's train_test_splits_ilidsvid.mat), and
// the synthetic stand-ins that write them.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fgreid::datasets {

/// A real, non-sparse 2-D matrix, column-major as MATLAB stores it.
struct MatMatrix {
  std::size_t rows = 0, cols = 0;
  std::vector<double> values;  ///< rows × cols, column-major

  [[nodiscard]] double at(std::size_t row, std::size_t col) const { return values[row + col * rows]; }
  /// A rows × cols matrix from row-major `row_values` (how one writes it down).
  static MatMatrix from_rows(std::size_t rows, std::size_t cols, const std::vector<double>& row_values);
};

/// Variable `variable` of the MATLAB file `file` (v4, v5/v6/v7; v7.3 when matio has HDF5) as
/// doubles. Any real numeric class is accepted (MATLAB writes these as double, some tools as
/// integers). DataError "<file>: …" naming the variable when the file cannot be opened, the
/// variable is missing, or it is not a real 2-D numeric matrix.
[[nodiscard]] MatMatrix read_mat_matrix(const std::filesystem::path& file, std::string_view variable);

/// Writes the variables as doubles into a new MATLAB v5 file `file` (replacing it; its folder
/// is created).
void write_mat_matrices(const std::filesystem::path& file,
                        const std::vector<std::pair<std::string, MatMatrix>>& variables);

/// `value` as an integer when it is one (the .mat files hold indices and ids as doubles);
/// DataError "<file>: <variable>(row, col) = value is not an integer" otherwise.
[[nodiscard]] long long mat_integer(const std::filesystem::path& file, std::string_view variable,
                                    const MatMatrix& matrix, std::size_t row, std::size_t col);

}  // namespace fgreid::datasets
