#pragma once
// Float32 matrices in NumPy's .npy format (C order, little-endian), read and written in blocks
// of rows so that a gallery larger than memory streams: what `--extract-images` writes beside
// its torch.load-able file, and what fgreid_search reads (np.load(path) on the Python side).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>

namespace fgreid::eval {

/// Writes a rows × cols float32 .npy through a temporary file: append() the rows in order, then
/// commit() renames it into place. Destroyed uncommitted (an error midway), it removes the
/// temporary file, so the destination is never partly written.
class NpyWriter {
 public:
  /// DataError naming `path` when the temporary file cannot be created.
  NpyWriter(std::filesystem::path path, std::int64_t rows, std::int64_t cols);
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;
  ~NpyWriter();
  /// Whole rows: values.size() must be a multiple of cols.
  void append(std::span<const float> values);
  /// Checks that every row was written, then renames the file into place.
  void commit();

 private:
  std::filesystem::path path_, temporary_;
  std::int64_t rows_, cols_, written_ = 0;
  std::ofstream out_;
  bool committed_ = false;
};

/// A float32 2-D .npy opened for reading rows in blocks. Any other dtype, order or rank, a
/// malformed header or a file shorter than its shape is a DataError starting with the path.
class NpyReader {
 public:
  explicit NpyReader(std::filesystem::path path);
  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t cols() const { return cols_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  /// Rows [first, first + out.size() / cols) into `out`.
  void read(std::int64_t first, std::span<float> out);

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::int64_t rows_ = 0, cols_ = 0, data_offset_ = 0;
};

}  // namespace fgreid::eval
