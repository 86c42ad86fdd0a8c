#include "hdf5_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string_view>

namespace fgreid::datasets::hdf5 {

namespace {

/// HDF5 prints its error stack unless told not to; our errors say what went wrong instead.
struct QuietHdf5 {
  QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};

}  // namespace

std::vector<hsize_t> dims_of(hid_t dataset) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

hsize_t count_of(const std::vector<hsize_t>& dims) {
  hsize_t count = 1;
  for (const auto d : dims) count *= d;
  return count;
}

// --- reading ---------------------------------------------------------------------------------

Reader::Reader(const std::filesystem::path& path)
    : path_(path), file_((QuietHdf5{}, H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)), H5Fclose) {
  if (!file_.valid())
    throw DataError(fmt::format("{}: not a MATLAB v7.3 (HDF5) file", path.string()));
}

std::vector<hobj_ref_t> Reader::cell(const char* name, std::vector<hsize_t>& dims) const {
  if (H5Lexists(file_.get(), name, H5P_DEFAULT) <= 0)
    throw DataError(fmt::format("{}: no variable '{}' in the file", path_.string(), name));
  Handle dataset(H5Dopen2(file_.get(), name, H5P_DEFAULT), H5Dclose);
  return references(dataset.get(), name, dims);
}

std::vector<hobj_ref_t> Reader::references(hid_t dataset, const std::string& what,
                                           std::vector<hsize_t>& dims) const {
  Handle type(H5Dget_type(dataset), H5Tclose);
  if (!type.valid() || H5Tget_class(type.get()) != H5T_REFERENCE)
    throw DataError(fmt::format("{}: '{}' is not a cell array", path_.string(), what));
  dims = dims_of(dataset);
  std::vector<hobj_ref_t> refs(stored_count(dataset, what));
  if (!refs.empty() &&
      H5Dread(dataset, H5T_STD_REF_OBJ, H5S_ALL, H5S_ALL, H5P_DEFAULT, refs.data()) < 0)
    throw DataError(fmt::format("{}: cannot read '{}'", path_.string(), what));
  return refs;
}

Handle Reader::open(const hobj_ref_t& ref, const std::string& what) const {
  Handle object(H5Rdereference2(file_.get(), H5P_DEFAULT, H5R_OBJECT, &ref), H5Oclose);
  if (!object.valid())
    throw DataError(fmt::format("{}: '{}' holds a broken reference", path_.string(), what));
  H5O_info_t info;
  if (H5Oget_info2(object.get(), &info, H5O_INFO_BASIC) < 0 || info.type != H5O_TYPE_DATASET)
    throw DataError(fmt::format("{}: '{}' does not refer to an array", path_.string(), what));
  return object;
}

hsize_t Reader::stored_count(hid_t dataset, const std::string& what) const {
  // Bounded by the file's own size, not by the storage size its header claims: a chunk may
  // be deflated (~1000:1 at most), a dataset never written holds its fill value.
  constexpr hsize_t kMaxInflation = 1100, kUnstoredBytes = 65536;
  Handle type(H5Dget_type(dataset), H5Tclose);
  const hsize_t element = type.valid() ? H5Tget_size(type.get()) : 0;
  std::error_code error;
  const hsize_t budget = std::filesystem::file_size(path_, error) * kMaxInflation + kUnstoredBytes;
  hsize_t count = 1;
  for (const auto d : dims_of(dataset)) {
    if (d != 0 && count > budget / d) count = budget + 1;  // past the budget: no need to go on
    else count *= d;
  }
  if (element == 0 || count > budget / element)
    throw DataError(fmt::format("{}: '{}' claims more elements than the file stores for it (a "
                                "damaged or hostile file)", path_.string(), what));
  // Where the data lie must agree with that count: libhdf5 1.10 copies a compact dataset's
  // buffer by the dataspace's size, and reads a contiguous one wherever its header says.
  Handle plist(H5Dget_create_plist(dataset), H5Pclose);
  const auto layout = plist.valid() ? H5Pget_layout(plist.get()) : H5D_LAYOUT_ERROR;
  const hsize_t stored = H5Dget_storage_size(dataset);
  const haddr_t offset = H5Dget_offset(dataset);
  const bool consistent =
      (layout == H5D_COMPACT && stored == count * element) ||
      (layout == H5D_CONTIGUOUS && (stored == 0 || (offset != HADDR_UNDEF && stored == count * element &&
                                                    offset + stored <= std::filesystem::file_size(path_, error)))) ||
      layout == H5D_CHUNKED;
  if (!consistent)
    throw DataError(fmt::format("{}: '{}' has a storage layout that does not fit its size (a "
                                "damaged or hostile file)", path_.string(), what));
  return count;
}

std::vector<double> Reader::numbers(hid_t dataset, const std::string& what) const {
  std::vector<double> values(stored_count(dataset, what));
  if (!values.empty() &&
      H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    throw DataError(fmt::format("{}: '{}' is not a numeric array", path_.string(), what));
  return values;
}

cv::Mat Reader::image(const hobj_ref_t& ref, const std::string& what) const {
  auto dataset = open(ref, what);
  const auto dims = dims_of(dataset.get());
  if (dims.size() != 3 || dims[0] != 3 || dims[1] > 65535 || dims[2] > 65535)
    throw DataError(fmt::format("{}: '{}' is not an H×W×3 image", path_.string(), what));
  const auto width = static_cast<int>(dims[1]), height = static_cast<int>(dims[2]);
  std::vector<std::uint8_t> data(stored_count(dataset.get(), what));
  if (H5Dread(dataset.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    throw DataError(fmt::format("{}: cannot read '{}'", path_.string(), what));
  cv::Mat image(height, width, CV_8UC3);
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < width; ++x)
      for (int y = 0; y < height; ++y)
        image.at<cv::Vec3b>(y, x)[2 - c] =
            data[(static_cast<std::size_t>(c) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
                     static_cast<std::size_t>(height) + static_cast<std::size_t>(y)];
  return image;
}

// --- writing ---------------------------------------------------------------------------------

Writer::Writer(const std::filesystem::path& path) : path_(path) {
  QuietHdf5 quiet;
  Handle properties(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_userblock(properties.get(), 512);  // MATLAB's text header lives here
  file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, properties.get(), H5P_DEFAULT);
  if (file_ < 0) throw DataError(fmt::format("{}: cannot create the HDF5 file", path.string()));
  refs_ = H5Gcreate2(file_, "#refs#", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

Writer::~Writer() { close(); }

hobj_ref_t Writer::image(const cv::Mat& bgr) {
  if (bgr.empty()) return empty();
  const auto height = static_cast<std::size_t>(bgr.rows), width = static_cast<std::size_t>(bgr.cols);
  std::vector<std::uint8_t> data(3 * width * height);
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t x = 0; x < width; ++x)
      for (std::size_t y = 0; y < height; ++y)
        data[(c * width + x) * height + y] =
            bgr.at<cv::Vec3b>(static_cast<int>(y), static_cast<int>(x))[2 - c];
  return add({3, width, height}, H5T_STD_U8LE, H5T_NATIVE_UINT8, data.data(), "uint8");
}

hobj_ref_t Writer::matrix(std::size_t rows, std::size_t columns, const std::vector<double>& row_major) {
  std::vector<double> stored(rows * columns);  // MATLAB's column-major = HDF5 (columns, rows)
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < columns; ++c) stored[c * rows + r] = row_major[r * columns + c];
  return add({columns, rows}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, stored.data(), "double");
}

hobj_ref_t Writer::cell(const std::string& name, std::size_t rows, std::size_t columns,
                        const std::vector<hobj_ref_t>& row_major) {
  std::vector<hobj_ref_t> stored(rows * columns);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < columns; ++c) stored[c * rows + r] = row_major[r * columns + c];
  return write(name, {columns, rows}, H5T_STD_REF_OBJ, H5T_STD_REF_OBJ, stored.data(), "cell", false);
}

hobj_ref_t Writer::nested_cell(std::size_t rows, std::size_t columns, const std::vector<hobj_ref_t>& row_major) {
  return cell(next_name(), rows, columns, row_major);
}

void Writer::close() {
  if (file_ < 0) return;
  H5Gclose(refs_);
  H5Fclose(file_);
  file_ = -1;
  std::string header = "MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: fgreid HDF5 schema 1.00 .";
  header.resize(116, ' ');
  header += std::string(8, '\0');
  header += std::string("\x00\x02", 2) + "IM";
  std::fstream(path_, std::ios::in | std::ios::out | std::ios::binary).write(header.data(), 128);
}

std::string Writer::next_name() { return fmt::format("#refs#/{}", next_++); }

/// MATLAB's placeholder for an empty cell: the dims [0 0] as uint64, marked MATLAB_empty.
hobj_ref_t Writer::empty() {
  const std::uint64_t zeros[2] = {0, 0};
  return write(next_name(), {2}, H5T_STD_U64LE, H5T_NATIVE_UINT64, zeros, "double", true);
}

hobj_ref_t Writer::add(const std::vector<hsize_t>& dims, hid_t file_type, hid_t memory_type, const void* data,
                       const char* matlab_class) {
  return write(next_name(), dims, file_type, memory_type, data, matlab_class, false);
}

hobj_ref_t Writer::write(const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type,
                         hid_t memory_type, const void* data, const char* matlab_class, bool is_empty) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle dataset(H5Dcreate2(file_, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.valid() ||
      H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw DataError(fmt::format("{}: cannot write '{}'", path_.string(), name));
  Handle text(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(text.get(), std::string_view(matlab_class).size());
  Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(dataset.get(), "MATLAB_class", text.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  H5Awrite(attribute.get(), text.get(), matlab_class);
  if (is_empty) {
    const std::uint8_t one = 1;
    Handle flag(H5Acreate2(dataset.get(), "MATLAB_empty", H5T_STD_U8LE, scalar.get(), H5P_DEFAULT, H5P_DEFAULT),
                H5Aclose);
    H5Awrite(flag.get(), H5T_NATIVE_UINT8, &one);
  }
  hobj_ref_t ref;
  H5Rcreate(&ref, file_, name.c_str(), H5R_OBJECT, -1);
  return ref;
}

}  // namespace fgreid::datasets::hdf5
