#include <fgreid/datasets/mat_numeric.hpp>
#include <fgreid/error.hpp>

#include "../detail/child_process.hpp"
#include "mat_guard.hpp"

#include <fmt/format.h>
#include <matio.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>

namespace fgreid::datasets {

namespace {

struct CloseMat {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct FreeVar {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};

template <class T>
void copy_as_double(const void* data, std::size_t count, std::vector<double>& out) {
  const auto* typed = static_cast<const T*>(data);
  out.assign(count, 0.0);
  for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<double>(typed[i]);
}

MatMatrix read_with_matio(const std::filesystem::path& file, std::string_view variable) {
  mat::check_sizes(file);  // before matio allocates what the file claims
  std::unique_ptr<mat_t, CloseMat> mat(Mat_Open(file.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw DataError(fmt::format("{}: not a MATLAB file that matio can read", file.string()));
  const std::string name(variable);
  std::unique_ptr<matvar_t, FreeVar> var(Mat_VarRead(mat.get(), name.c_str()));
  if (!var) throw DataError(fmt::format("{}: no variable '{}' in this MATLAB file", file.string(), name));
  if (var->rank != 2)
    throw DataError(fmt::format("{}: variable '{}' has {} dimensions, expected a 2-D matrix",
                                file.string(), name, var->rank));
  if (var->isComplex)
    throw DataError(fmt::format("{}: variable '{}' is complex, expected real numbers", file.string(), name));
  MatMatrix matrix{var->dims[0], var->dims[1], {}};
  const std::size_t count = matrix.rows * matrix.cols;
  if (count > 0 && var->data == nullptr)
    throw DataError(fmt::format("{}: variable '{}' has no data", file.string(), name));
  switch (var->class_type) {
    case MAT_C_DOUBLE: copy_as_double<double>(var->data, count, matrix.values); break;
    case MAT_C_SINGLE: copy_as_double<float>(var->data, count, matrix.values); break;
    case MAT_C_INT8: copy_as_double<std::int8_t>(var->data, count, matrix.values); break;
    case MAT_C_UINT8: copy_as_double<std::uint8_t>(var->data, count, matrix.values); break;
    case MAT_C_INT16: copy_as_double<std::int16_t>(var->data, count, matrix.values); break;
    case MAT_C_UINT16: copy_as_double<std::uint16_t>(var->data, count, matrix.values); break;
    case MAT_C_INT32: copy_as_double<std::int32_t>(var->data, count, matrix.values); break;
    case MAT_C_UINT32: copy_as_double<std::uint32_t>(var->data, count, matrix.values); break;
    case MAT_C_INT64: copy_as_double<std::int64_t>(var->data, count, matrix.values); break;
    case MAT_C_UINT64: copy_as_double<std::uint64_t>(var->data, count, matrix.values); break;
    default:
      throw DataError(fmt::format("{}: variable '{}' is not a numeric matrix (MATLAB class {})",
                                  file.string(), name, static_cast<int>(var->class_type)));
  }
  return matrix;
}

/// Whether `file` is a MATLAB v7.3 file (HDF5): the version 0x0200 at byte 124 of its header.
bool is_hdf5_mat(const std::filesystem::path& file) {
  char header[128] = {};
  std::ifstream in(file, std::ios::binary);
  if (!in.read(header, sizeof header)) return false;
  const auto little = header[126] == 'I' && header[127] == 'M';
  const auto big = header[126] == 'M' && header[127] == 'I';
  const auto first = static_cast<unsigned char>(header[124]), second = static_cast<unsigned char>(header[125]);
  return (little && first == 0x00 && second == 0x02) || (big && first == 0x02 && second == 0x00);
}

std::string encode(const MatMatrix& matrix) {
  detail::Encoder out;
  out.put(matrix.rows).put(matrix.cols);
  for (const auto value : matrix.values) out.put(value);
  return out.take();
}

MatMatrix decode(std::string_view bytes) {
  detail::Decoder in(bytes);
  MatMatrix matrix;
  matrix.rows = in.get<std::size_t>();
  matrix.cols = in.get<std::size_t>();
  matrix.values.resize(matrix.rows * matrix.cols);
  for (auto& value : matrix.values) value = in.get<double>();
  return matrix;
}

}  // namespace

MatMatrix MatMatrix::from_rows(std::size_t rows, std::size_t cols,
                               const std::vector<double>& row_values) {
  MatMatrix matrix{rows, cols, std::vector<double>(rows * cols)};
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) matrix.values[r + c * rows] = row_values.at(r * cols + c);
  return matrix;
}

MatMatrix read_mat_matrix(const std::filesystem::path& file, std::string_view variable) {
  if (!std::filesystem::is_regular_file(file))
    throw DataError(fmt::format("{}: file not found (a MATLAB file holding '{}')", file.string(),
                                variable));
  if (!is_hdf5_mat(file)) return read_with_matio(file, variable);
  // matio reads v7.3 through libhdf5, which some malformed files crash (fuzz/mat73.cpp).
  return decode(detail::read_in_child(file, "matio (HDF5)", [&] { return encode(read_with_matio(file, variable)); }));
}

void write_mat_matrices(const std::filesystem::path& file,
                        const std::vector<std::pair<std::string, MatMatrix>>& variables) {
  std::filesystem::remove(file);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::unique_ptr<mat_t, CloseMat> mat(Mat_CreateVer(file.c_str(), nullptr, MAT_FT_MAT5));
  if (!mat) throw DataError(fmt::format("{}: cannot create the MATLAB file", file.string()));
  for (const auto& [name, matrix] : variables) {
    if (matrix.values.size() != matrix.rows * matrix.cols)
      throw std::invalid_argument(fmt::format("write_mat_matrices: '{}' has {} values for {}×{}",
                                              name, matrix.values.size(), matrix.rows, matrix.cols));
    std::size_t dims[2] = {matrix.rows, matrix.cols};
    // matio reads from the buffer and copies it (MAT_F_DONT_COPY_DATA is not set), so the
    // const_cast never lets it write.
    std::unique_ptr<matvar_t, FreeVar> var(
        Mat_VarCreate(name.c_str(), MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims,
                      const_cast<double*>(matrix.values.data()), 0));
    if (!var || Mat_VarWrite(mat.get(), var.get(), MAT_COMPRESSION_NONE) != 0)
      throw DataError(fmt::format("{}: cannot write variable '{}'", file.string(), name));
  }
}

long long mat_integer(const std::filesystem::path& file, std::string_view variable,
                      const MatMatrix& matrix, std::size_t row, std::size_t col) {
  const double value = matrix.at(row, col);
  if (!std::isfinite(value) || std::round(value) != value || std::fabs(value) > 9.0e15)
    throw DataError(fmt::format("{}: {}({}, {}) = {} is not an integer", file.string(), variable,
                                row + 1, col + 1, value));
  return static_cast<long long>(value);
}

}  // namespace fgreid::datasets
