#include "mat_guard.hpp"

#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace fgreid::datasets::mat {

namespace {

// MATLAB's v5 data types and array classes (the MAT-File Format document).
constexpr std::uint32_t miINT8 = 1, miINT32 = 5, miUINT32 = 6, miMATRIX = 14, miCOMPRESSED = 15;
constexpr std::uint32_t mxCELL = 1, mxSTRUCT = 2, mxOBJECT = 3, mxCHAR = 4, mxSPARSE = 5,
                        mxDOUBLE = 6, mxUINT64 = 15;
constexpr int kMaxDepth = 32;
/// Inflated bytes allowed per compressed byte: deflate's own limit is ~1032.
constexpr std::uint64_t kMaxInflation = 1100;
constexpr std::uint64_t kMaxInflated = std::uint64_t{1} << 30;

/// A problem found in the file: thrown, caught by check_sizes, which names the file.
struct Refused {
  std::string reason;
};

struct Element {
  std::uint32_t type = 0;
  std::string_view payload;
};

class V5Walker {
 public:
  explicit V5Walker(bool swap) : swap_(swap) {}

  /// Every element of `bytes`, one after the other.
  void elements(std::string_view bytes, int depth) {
    while (bytes.size() >= 8) element(next(bytes), depth);
  }

 private:
  std::uint32_t u32(std::string_view bytes, std::size_t at) const {
    std::uint32_t value;
    std::memcpy(&value, bytes.data() + at, 4);
    return swap_ ? __builtin_bswap32(value) : value;
  }

  /// The element at the front of `bytes`, which moves past it.
  Element next(std::string_view& bytes) const {
    if (bytes.size() < 8) throw Refused{"an element's tag runs past the end"};
    const std::uint32_t first = u32(bytes, 0);
    if ((first >> 16) != 0) {  // a small element: type, size and data in 8 bytes
      const std::uint32_t size = first >> 16;
      if (size > 4) throw Refused{fmt::format("a small element claims {} bytes", size)};
      Element small{first & 0xffff, bytes.substr(4, size)};
      bytes.remove_prefix(8);
      return small;
    }
    const std::uint64_t size = u32(bytes, 4);
    if (size > bytes.size() - 8)
      throw Refused{fmt::format("an element claims {} bytes where {} remain", size, bytes.size() - 8)};
    Element element{first, bytes.substr(8, size)};
    const std::uint64_t padded = first == miCOMPRESSED ? size : (size + 7) / 8 * 8;
    bytes.remove_prefix(static_cast<std::size_t>(std::min<std::uint64_t>(8 + padded, bytes.size())));
    return element;
  }

  void element(const Element& element, int depth) {
    if (depth > kMaxDepth) throw Refused{fmt::format("arrays nest deeper than {}", kMaxDepth)};
    if (element.type == miCOMPRESSED) elements(inflated(element.payload), depth + 1);
    if (element.type == miMATRIX) matrix(element.payload, depth + 1);
  }

  /// A cell or a struct field: matio reads it as an array whatever its tag says, so one that
  /// is not would be read from bytes this walk never checked.
  void array(const Element& element, int depth) {
    if (element.type != miMATRIX)
      throw Refused{fmt::format("a cell or struct field of data type {} where an array belongs", element.type)};
    this->element(element, depth);
  }

  static std::string inflated(std::string_view compressed) {
    const std::uint64_t limit = std::min(kMaxInflated, compressed.size() * kMaxInflation + 4096);
    z_stream stream{};
    if (inflateInit(&stream) != Z_OK) throw Refused{"zlib cannot start"};
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    std::string out;
    int status = Z_OK;
    while (status == Z_OK) {
      const std::size_t done = out.size();
      out.resize(done + 65536);
      stream.next_out = reinterpret_cast<Bytef*>(out.data() + done);
      stream.avail_out = 65536;
      status = inflate(&stream, Z_NO_FLUSH);
      out.resize(done + 65536 - stream.avail_out);
      if (out.size() > limit) status = Z_MEM_ERROR;
      if (status == Z_BUF_ERROR && stream.avail_in == 0) break;  // truncated: matio stops there too
    }
    inflateEnd(&stream);
    if (status == Z_MEM_ERROR)
      throw Refused{fmt::format("a compressed element of {} bytes inflates past {} bytes",
                                compressed.size(), limit)};
    return out;
  }

  /// An array: its header, then, by class, what its element count allows.
  void matrix(std::string_view payload, int depth) {
    if (payload.empty()) return;  // an empty cell's placeholder
    const auto flags = next(payload);
    const auto dims = next(payload);
    (void)next(payload);  // the name
    // matio reads the flags as exactly 8 bytes whatever their tag claims, so a longer claim
    // would hide from this walk the dimensions matio goes on to read and allocate for.
    if (flags.type != miUINT32 || flags.payload.size() != 8 || dims.type != miINT32 || dims.payload.size() < 8)
      throw Refused{"an array header without its 8 bytes of flags and its dimensions"};
    const std::uint32_t array_class = u32(flags.payload, 0) & 0xff;
    const std::uint64_t nonzeros = u32(flags.payload, 4);
    std::uint64_t count = 1, last_dim = 0;
    for (std::size_t at = 0; at + 4 <= dims.payload.size(); at += 4) {
      last_dim = u32(dims.payload, at);
      if (last_dim > 0x7fffffff) throw Refused{"an array with a negative dimension"};
      count = last_dim == 0 ? 0 : count;
      if (count != 0 && count > (std::uint64_t{1} << 48) / last_dim)
        throw Refused{"an array of more than 2^48 elements"};
      count *= last_dim;
    }
    const std::uint64_t room = payload.size();
    auto require = [&](std::uint64_t needed, std::string_view what) {
      if (needed > room)
        throw Refused{fmt::format("an array claims {} {} in {} bytes", needed, what, room)};
    };
    if (array_class == mxCHAR || (array_class >= mxDOUBLE && array_class <= mxUINT64)) {
      require(count, "elements");
    } else if (array_class == mxSPARSE) {
      require(nonzeros, "non-zeros");
      require((last_dim + 1) * 4, "bytes of column starts");
    } else if (array_class == mxCELL) {
      require(count * 8, "bytes of cells");
      for (std::uint64_t i = 0; i < count; ++i) array(next(payload), depth);
    } else if (array_class == mxSTRUCT || array_class == mxOBJECT) {
      if (array_class == mxOBJECT) (void)next(payload);  // the class name
      const auto length = next(payload);
      const auto names = next(payload);
      if (length.payload.size() < 4 || names.type != miINT8)
        throw Refused{"a struct without its field names"};
      const std::uint64_t name_length = u32(length.payload, 0);
      const std::uint64_t fields = name_length == 0 ? 0 : names.payload.size() / name_length;
      require(count * fields * 8, "bytes of struct fields");
      for (std::uint64_t i = 0; i < count * fields; ++i) array(next(payload), depth);
    } else {
      throw Refused{fmt::format("an array of MATLAB class {}, which fgreid does not read", array_class)};
    }
  }

  bool swap_;
};

/// MATLAB v4: a sequence of [type mrows ncols imagf namlen] headers, names and data.
void check_v4(std::string_view bytes) {
  while (bytes.size() >= 20) {
    std::int32_t header[5];
    std::memcpy(header, bytes.data(), sizeof header);
    const auto swapped = [](std::int32_t value) {
      return static_cast<std::int32_t>(__builtin_bswap32(static_cast<std::uint32_t>(value)));
    };
    if (header[0] < 0 || header[0] > 4052) header[0] = swapped(header[0]);
    // As matio: the type's thousands digit, not the order the type was stored in, says the
    // byte order of the other four fields (0 little-endian, 1 big-endian; VAX and Cray no).
    const int machine = header[0] / 1000;
    if (machine == 1)
      for (int i = 1; i < 5; ++i) header[i] = swapped(header[i]);
    const auto [type, rows, cols, imaginary, name_length] = header;
    if (type < 0 || type > 4052 || machine > 1 || rows < 0 || cols < 0 || name_length < 0)
      throw Refused{"not a MATLAB v4 or v5 file"};
    constexpr int element_bytes[] = {8, 4, 4, 2, 2, 1};
    const int precision = type / 10 % 10, kind = type % 10;
    if (precision > 5) throw Refused{fmt::format("a v4 matrix of unknown precision {}", precision)};
    // Full and text matrices only: matio sizes a sparse one's buffers from other fields.
    if (kind > 1) throw Refused{fmt::format("a v4 matrix of kind {}, which fgreid does not read", kind)};
    bytes.remove_prefix(20);
    // Each side alone too: matio sizes buffers by rows even when there are no columns.
    if (std::uint64_t(rows) > bytes.size() || std::uint64_t(cols) > bytes.size())
      throw Refused{fmt::format("a v4 matrix claims {} × {} elements in {} bytes", rows, cols, bytes.size())};
    const std::uint64_t data = std::uint64_t(rows) * std::uint64_t(cols) *
                               std::uint64_t(element_bytes[precision]) * (imaginary != 0 ? 2 : 1);
    if (std::uint64_t(name_length) > bytes.size() || data > bytes.size() - std::uint64_t(name_length))
      throw Refused{fmt::format("a v4 matrix claims {} bytes of name and data where {} remain",
                                std::uint64_t(name_length) + data, bytes.size())};
    bytes.remove_prefix(static_cast<std::size_t>(std::uint64_t(name_length) + data));
  }
}

void check_bytes(std::string_view bytes) {
  if (bytes.size() >= 128) {
    const std::string_view endian = bytes.substr(126, 2);
    std::uint16_t version;
    std::memcpy(&version, bytes.data() + 124, 2);
    const bool swap = endian == "MI";
    if (swap) version = static_cast<std::uint16_t>(__builtin_bswap16(version));
    if ((endian == "IM" || swap) && version == 0x0200) return;  // v7.3: HDF5 reads it
    if ((endian == "IM" || swap) && version == 0x0100) {
      V5Walker(swap).elements(bytes.substr(128), 0);
      return;
    }
  }
  check_v4(bytes);
}

}  // namespace

void check_sizes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    check_bytes(bytes);
  } catch (const Refused& refused) {
    throw DataError(fmt::format("{}: a damaged or hostile MATLAB file: {}", path.string(), refused.reason));
  }
}

}  // namespace fgreid::datasets::mat
