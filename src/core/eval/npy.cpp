#include <fgreid/error.hpp>
#include <fgreid/eval/npy.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <regex>
#include <stdexcept>
#include <string>

static_assert(std::endian::native == std::endian::little, "the .npy code writes '<f4' as is");

namespace fgreid::eval {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

/// Version 1.0 header: magic, version, length, then the dict padded with spaces to a multiple
/// of 64 bytes and ended by a newline.
std::string npy_header(std::int64_t rows, std::int64_t cols) {
  std::string dict = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
                                 rows, cols);
  const std::size_t unpadded = kMagicSize + 4 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  std::string header(kMagic, kMagicSize);
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(dict.size() & 0xFF);
  header += static_cast<char>((dict.size() >> 8) & 0xFF);
  return header + dict;
}

}  // namespace

NpyWriter::NpyWriter(std::filesystem::path path, std::int64_t rows, std::int64_t cols)
    : path_(std::move(path)), rows_(rows), cols_(cols) {
  temporary_ = path_;
  temporary_ += fmt::format(".tmp-{}", ::getpid());
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_) throw DataError(fmt::format("{}: cannot write the file", path_.string()));
  const auto header = npy_header(rows, cols);
  out_.write(header.data(), static_cast<std::streamsize>(header.size()));
}

NpyWriter::~NpyWriter() {
  if (committed_) return;
  out_.close();
  std::error_code ignored;
  std::filesystem::remove(temporary_, ignored);
}

void NpyWriter::append(std::span<const float> values) {
  if (cols_ == 0 || values.size() % static_cast<std::size_t>(cols_) != 0)
    throw std::invalid_argument("NpyWriter::append: whole rows only");
  written_ += static_cast<std::int64_t>(values.size()) / cols_;
  if (written_ > rows_) throw std::invalid_argument("NpyWriter::append: more rows than declared");
  out_.write(reinterpret_cast<const char*>(values.data()),
             static_cast<std::streamsize>(values.size_bytes()));
}

void NpyWriter::commit() {
  if (written_ != rows_)
    throw std::logic_error(fmt::format("NpyWriter: {} of {} rows written", written_, rows_));
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  out_.close();
  if (!ok) throw DataError(fmt::format("{}: cannot write the file", path_.string()));
  std::filesystem::rename(temporary_, path_);
  committed_ = true;
}

namespace {

/// The header's dict: {'descr': '<f4', 'fortran_order': False, 'shape': (rows, cols), }.
void parse_dict(const std::string& dict, const std::filesystem::path& path, std::int64_t& rows,
                std::int64_t& cols) {
  std::smatch match;
  if (!std::regex_search(dict, match, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    throw DataError(fmt::format("{}: a .npy header without 'descr'", path.string()));
  if (match[1] != "<f4")
    throw DataError(fmt::format("{}: dtype '{}', but features are float32 ('<f4'): save them with "
                                "np.save(path, features.astype(np.float32))",
                                path.string(), match[1].str()));
  if (std::regex_search(dict, std::regex(R"('fortran_order'\s*:\s*True)")))
    throw DataError(fmt::format("{}: Fortran order; save np.ascontiguousarray(features)", path.string()));
  if (!std::regex_search(dict, match, std::regex(R"('shape'\s*:\s*\(\s*(\d+)\s*,\s*(\d+)\s*,?\s*\))")))
    throw DataError(fmt::format("{}: not a 2-D matrix (rows × feature dimension); header {}",
                                path.string(), dict.substr(0, dict.find('}') + 1)));
  rows = std::stoll(match[1]);
  cols = std::stoll(match[2]);
}

}  // namespace

NpyReader::NpyReader(std::filesystem::path path) : path_(std::move(path)) {
  if (!std::filesystem::is_regular_file(path_))
    throw DataError(fmt::format("{}: no such features file", path_.string()));
  in_.open(path_, std::ios::binary);
  char prefix[kMagicSize + 2] = {};
  if (!in_.read(prefix, sizeof prefix) || std::string_view(prefix, kMagicSize) != std::string_view(kMagic, kMagicSize))
    throw DataError(fmt::format("{}: not a .npy file", path_.string()));
  const int major = static_cast<unsigned char>(prefix[kMagicSize]);
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  unsigned char length[4] = {};
  if (!in_.read(reinterpret_cast<char*>(length), static_cast<std::streamsize>(length_bytes)))
    throw DataError(fmt::format("{}: a truncated .npy header", path_.string()));
  std::size_t dict_size = 0;
  for (std::size_t i = 0; i < length_bytes; ++i) dict_size |= std::size_t{length[i]} << (8 * i);
  std::string dict(dict_size, '\0');
  if (!in_.read(dict.data(), static_cast<std::streamsize>(dict_size)))
    throw DataError(fmt::format("{}: a truncated .npy header", path_.string()));
  parse_dict(dict, path_, rows_, cols_);
  data_offset_ = static_cast<std::int64_t>(kMagicSize + 2 + length_bytes + dict_size);
  const auto expected = data_offset_ + rows_ * cols_ * 4;
  if (static_cast<std::int64_t>(std::filesystem::file_size(path_)) < expected)
    throw DataError(fmt::format("{}: shorter than its {} × {} float32 matrix (truncated?)",
                                path_.string(), rows_, cols_));
}

void NpyReader::read(std::int64_t first, std::span<float> out) {
  const auto count = static_cast<std::int64_t>(out.size()) / std::max<std::int64_t>(cols_, 1);
  if (first < 0 || first + count > rows_)
    throw std::out_of_range(fmt::format("NpyReader::read: rows {}..{} of {}", first, first + count, rows_));
  in_.clear();
  in_.seekg(data_offset_ + first * cols_ * 4);
  if (!in_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size_bytes())))
    throw DataError(fmt::format("{}: cannot read rows {}..{}", path_.string(), first, first + count));
}

}  // namespace fgreid::eval
