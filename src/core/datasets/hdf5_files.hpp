#pragma once
// MATLAB v7.3 files (HDF5 with MATLAB's conventions) through libhdf5, for CUHK03's
// cuhk-03.mat: reading cell arrays of object references, numeric arrays and H×W×3 uint8 images,
// and writing them (tests, the synthetic stand-in). Errors are DataErrors naming the file.
// Private to src/core/datasets.
#include <fgreid/error.hpp>

#include <hdf5.h>
#include <opencv2/core.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace fgreid::datasets::hdf5 {

/// An HDF5 identifier closed with its kind's close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  [[nodiscard]] hid_t get() const { return id_; }
  [[nodiscard]] bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

/// The dims of a dataset, in HDF5's (C) order: MATLAB's reversed.
[[nodiscard]] std::vector<hsize_t> dims_of(hid_t dataset);

/// The element count of `dims`.
[[nodiscard]] hsize_t count_of(const std::vector<hsize_t>& dims);

/// A MATLAB v7.3 file opened for reading. `what` arguments name the array in errors.
class Reader {
 public:
  /// DataError when `path` is not an HDF5 file.
  explicit Reader(const std::filesystem::path& path);

  /// The object references of cell variable `name` (the whole array, in HDF5 order) and its dims.
  std::vector<hobj_ref_t> cell(const char* name, std::vector<hsize_t>& dims) const;

  /// The references held by `dataset`, a cell.
  std::vector<hobj_ref_t> references(hid_t dataset, const std::string& what,
                                     std::vector<hsize_t>& dims) const;

  /// The dataset a reference points to.
  Handle open(const hobj_ref_t& ref, const std::string& what) const;

  /// A MATLAB numeric array as doubles (HDF5 order).
  std::vector<double> numbers(hid_t dataset, const std::string& what) const;

  /// The MATLAB H×W×3 uint8 image `ref` points to (HDF5 dims (3, W, H)), as BGR.
  cv::Mat image(const hobj_ref_t& ref, const std::string& what) const;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  /// The element count of `dataset`, refused (DataError) when its dims claim more than the
  /// file's bytes can hold: HDF5 and we allocate that many elements before reading.
  hsize_t stored_count(hid_t dataset, const std::string& what) const;

  std::filesystem::path path_;
  Handle file_;
};

/// A new MATLAB v7.3 file: arrays go into #refs#, cells hold references to them, and close()
/// writes MATLAB's header into the 512-byte user block.
class Writer {
 public:
  /// DataError when `path` cannot be created.
  explicit Writer(const std::filesystem::path& path);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// An H×W×3 image (BGR in, RGB stored) in #refs#, as MATLAB's uint8 H×W×3; an empty Mat
  /// gives MATLAB's empty-cell placeholder.
  hobj_ref_t image(const cv::Mat& bgr);

  /// A rows×columns double matrix (row-major input) in #refs#.
  hobj_ref_t matrix(std::size_t rows, std::size_t columns, const std::vector<double>& row_major);

  /// A rows×columns cell of `refs` (row-major input) at `name` ("#refs#/..." when nested).
  hobj_ref_t cell(const std::string& name, std::size_t rows, std::size_t columns,
                  const std::vector<hobj_ref_t>& row_major);

  /// A rows×columns cell of `refs` in #refs#.
  hobj_ref_t nested_cell(std::size_t rows, std::size_t columns, const std::vector<hobj_ref_t>& row_major);

  /// Closes the file and writes MATLAB's 128-byte header into the user block.
  void close();

 private:
  std::string next_name();
  hobj_ref_t empty();
  hobj_ref_t add(const std::vector<hsize_t>& dims, hid_t file_type, hid_t memory_type, const void* data,
                 const char* matlab_class);
  hobj_ref_t write(const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type,
                   hid_t memory_type, const void* data, const char* matlab_class, bool is_empty);

  std::filesystem::path path_;
  hid_t file_ = -1, refs_ = -1;
  int next_ = 0;
};

}  // namespace fgreid::datasets::hdf5
