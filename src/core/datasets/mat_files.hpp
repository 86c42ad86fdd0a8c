#pragma once
// MATLAB v5 files through matio, for the loaders and writers of releases that ship .mat
// files (GRID, CUHK03's protocol files). Private to src/core/datasets.
#include <fgreid/error.hpp>

#include "mat_guard.hpp"

#include <fmt/format.h>
#include <matio.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace fgreid::datasets::mat {

struct CloseFile {
  void operator()(mat_t* file) const { Mat_Close(file); }
};
struct FreeVariable {
  void operator()(matvar_t* variable) const { Mat_VarFree(variable); }
};
using File = std::unique_ptr<mat_t, CloseFile>;
using Variable = std::unique_ptr<matvar_t, FreeVariable>;

/// Opens `path` for reading; DataError naming it when it is missing or not a MATLAB file.
inline File open(const std::filesystem::path& path, std::string_view needs) {
  if (!std::filesystem::is_regular_file(path))
    throw DataError(fmt::format("{}: file not found ({})", path.string(), needs));
  check_sizes(path);  // before matio allocates what the file claims
  File file(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!file) throw DataError(fmt::format("{}: not a MATLAB .mat file", path.string()));
  return file;
}

/// The variable `name`, read whole; DataError naming the file and the variable when absent.
inline Variable read(const File& file, const std::filesystem::path& path, const char* name) {
  Variable variable(Mat_VarRead(file.get(), name));
  if (!variable)
    throw DataError(fmt::format("{}: no variable '{}' in the file", path.string(), name));
  return variable;
}

[[nodiscard]] inline std::size_t elements(const matvar_t& variable) {
  std::size_t count = 1;
  for (int d = 0; d < variable.rank; ++d) count *= variable.dims[d];
  return count;
}

/// A real numeric array's values in MATLAB's (column-major) order into `values`; false when
/// `variable` is not a real numeric array.
inline bool numbers(const matvar_t& variable, std::vector<double>& values) {
  const auto count = elements(variable);
  values.resize(count);
  if (variable.isComplex || (count > 0 && variable.data == nullptr)) return false;
  auto copy = [&]<class T>(const T* data) {
    for (std::size_t i = 0; i < count; ++i) values[i] = static_cast<double>(data[i]);
  };
  switch (variable.class_type) {
    case MAT_C_DOUBLE: copy(static_cast<const double*>(variable.data)); return true;
    case MAT_C_SINGLE: copy(static_cast<const float*>(variable.data)); return true;
    case MAT_C_INT8: copy(static_cast<const std::int8_t*>(variable.data)); return true;
    case MAT_C_UINT8: copy(static_cast<const std::uint8_t*>(variable.data)); return true;
    case MAT_C_INT16: copy(static_cast<const std::int16_t*>(variable.data)); return true;
    case MAT_C_UINT16: copy(static_cast<const std::uint16_t*>(variable.data)); return true;
    case MAT_C_INT32: copy(static_cast<const std::int32_t*>(variable.data)); return true;
    case MAT_C_UINT32: copy(static_cast<const std::uint32_t*>(variable.data)); return true;
    case MAT_C_INT64: copy(static_cast<const std::int64_t*>(variable.data)); return true;
    case MAT_C_UINT64: copy(static_cast<const std::uint64_t*>(variable.data)); return true;
    default: return false;
  }
}

/// A 1×n (or n×1) double array named `name` (nullptr inside cells and structs).
inline matvar_t* row(const char* name, const std::vector<double>& values, bool column = false) {
  std::size_t dims[2] = {column ? values.size() : 1, column ? 1 : values.size()};
  auto copy = values;  // matio copies, but takes a non-const pointer
  return Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, copy.data(), 0);
}

/// A 1×n char array (MATLAB's UTF-16 code units).
inline matvar_t* text(const std::string& value) {
  std::vector<std::uint16_t> units(value.begin(), value.end());
  std::size_t dims[2] = {1, units.size()};
  return Mat_VarCreate(nullptr, MAT_C_CHAR, MAT_T_UINT16, 2, dims, units.data(), 0);
}

/// A new v5 file at `path`; DataError when it cannot be created.
inline File create(const std::filesystem::path& path) {
  File file(Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5));
  if (!file) throw DataError(fmt::format("{}: cannot create the .mat file", path.string()));
  return file;
}

/// Writes `variable` (taking it) into `file`.
inline void write(const File& file, const std::filesystem::path& path, matvar_t* variable) {
  Variable owned(variable);
  if (Mat_VarWrite(file.get(), owned.get(), MAT_COMPRESSION_NONE) != 0)
    throw DataError(fmt::format("{}: cannot write variable '{}'", path.string(), owned->name));
}

}  // namespace fgreid::datasets::mat
