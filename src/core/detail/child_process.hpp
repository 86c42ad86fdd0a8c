#pragma once
// Reading an untrusted file in a child process, for libraries that a hostile file can crash or
// make allocate without bound from inside (libhdf5 1.10: a local heap of any size, a read from a
// null block; fuzz/mat73.cpp found both). The child is forked, limited in memory, and sends its
// result back through a pipe; a crash or an allocation over the limit becomes a DataError that
// names the file, and the calling process carries on. Private to src/core.
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace fgreid::detail {

/// Runs `read` in a forked child process and returns the bytes it returns. A DataError or
/// UsageError it throws is rethrown here as it was; anything else that ends the child (a
/// signal, a sanitizer's report, std::bad_alloc or any other exception, more than
/// `memory_bytes` of new address space) is a DataError "<file>: <reader> …". `read` must not
/// use threads (the child has only the calling one) nor LibTorch.
[[nodiscard]] std::string read_in_child(const std::filesystem::path& file, std::string_view reader,
                                        const std::function<std::string()>& read,
                                        std::size_t memory_bytes = std::size_t{1} << 30);

/// Bytes a child builds for its parent: trivially copyable values and strings, in order.
class Encoder {
 public:
  template <class T>
    requires std::is_trivially_copyable_v<T>
  Encoder& put(const T& value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
    return *this;
  }
  [[nodiscard]] std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

/// Reads an Encoder's bytes back, in the order they were put.
class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
    requires std::is_trivially_copyable_v<T>
  T get() {
    // Both ends are this program, so a short message is a bug here, not bad input.
    if (bytes_.size() < sizeof(T)) throw std::logic_error("Decoder: the child's message ended early");
    T value;
    std::memcpy(&value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return value;
  }
  [[nodiscard]] bool done() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

}  // namespace fgreid::detail
