// read_in_child (src/core/detail/child_process.hpp): what a reader does in the child comes back
// as it was (bytes, DataError, UsageError), and what would have ended the program (a crash, an
// allocation over the limit, another exception) is a DataError naming the file, after which the
// calling process carries on.
#include "src/core/detail/child_process.hpp"

#include <fgreid/error.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

namespace detail = fgreid::detail;
const std::filesystem::path kFile = "/data/stranger.h5";

/// The message of the error `read` ends in, in the child; "" when it returns.
template <class Error>
std::string error_in_child(const std::function<std::string()>& read, std::size_t memory_bytes = std::size_t{1} << 30) {
  try {
    (void)detail::read_in_child(kFile, "the test reader", read, memory_bytes);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

int touched_in_child = 0;

}  // namespace

TEST_CASE("a child's result comes back through the encoder, and its memory is its own") {
  const auto bytes = detail::read_in_child(kFile, "the test reader", [] {
    touched_in_child = 7;
    detail::Encoder out;
    out.put(std::size_t{3}).put(2.5).put(-4);
    return out.take();
  });
  detail::Decoder in(bytes);
  CHECK(in.get<std::size_t>() == 3);
  CHECK(in.get<double>() == 2.5);
  CHECK(in.get<int>() == -4);
  CHECK(in.done());
  CHECK_THROWS_AS(in.get<char>(), std::logic_error);
  CHECK(touched_in_child == 0);
}

TEST_CASE("a large result is read while the child writes it (more than a pipe's buffer)") {
  const auto bytes = detail::read_in_child(kFile, "the test reader", [] { return std::string(8 << 20, 'x'); });
  CHECK(bytes == std::string(8 << 20, 'x'));
}

TEST_CASE("a DataError or UsageError in the child is rethrown in the parent as it was") {
  CHECK(error_in_child<fgreid::DataError>([]() -> std::string { throw fgreid::DataError("/data/x.mat: bad cell"); }) ==
        "/data/x.mat: bad cell");
  CHECK(error_in_child<fgreid::UsageError>([]() -> std::string { throw fgreid::UsageError("--split-index 9: no"); }) ==
        "--split-index 9: no");
}

TEST_CASE("a crash in the child is a DataError naming the file and the signal") {
  const auto message = error_in_child<fgreid::DataError>([]() -> std::string {
    std::raise(SIGSEGV);
    return "unreached";
  });
  CHECK(message == "/data/stranger.h5: the test reader crashed (signal SIGSEGV) reading this file: it is "
                   "damaged or hostile");
  // and the parent goes on: another read works
  CHECK(detail::read_in_child(kFile, "the test reader", [] { return std::string("fine"); }) == "fine");
}

TEST_CASE("a child that allocates past its memory limit is a DataError naming the file") {
  // 2 GiB against a 256 MiB limit: refused at once (std::bad_alloc; under ASan, its report).
  const auto message = error_in_child<fgreid::DataError>(
      [] {
        // malloc, as libhdf5 allocates (and, unlike a new-expression, not elided by the compiler).
        void* block = std::malloc(std::size_t{2} << 30);
        if (block == nullptr) throw std::bad_alloc();
        std::free(block);
        return std::string("allocated");
      },
      std::size_t{256} << 20);
  CHECK(message == "/data/stranger.h5: the test reader needed more than 256 MiB reading this file: it is damaged "
                   "or hostile");
  // Within the limit, the same child is fine.
  CHECK(detail::read_in_child(
            kFile, "the test reader",
            [] {
              void* block = ::operator new(std::size_t{16} << 20);
              ::operator delete(block);
              return std::string("yy");
            },
            std::size_t{256} << 20) == "yy");
}

TEST_CASE("any other exception in the child is a DataError with its text") {
  CHECK(error_in_child<fgreid::DataError>([]() -> std::string { throw std::runtime_error("H5Dread failed"); }) ==
        "/data/stranger.h5: the test reader failed reading this file (H5Dread failed)");
}
