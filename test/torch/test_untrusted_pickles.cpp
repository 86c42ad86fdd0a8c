// Weights files are untrusted: the reader behind --weights, --pretrained and checkpoints must
// refuse, by name, what a state dict does not need, and check every length, count and offset
// before it allocates or reads. Each file here is hand-assembled pickle opcodes in a real zip
// archive, the way a hostile file would be made.
#include <fgreid/detail/pickle.hpp>
#include <fgreid/error.hpp>

#include <caffe2/serialize/inline_container.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include "support.hpp"

namespace {

using fgreid::test::TempDir;

/// Pickle opcodes, assembled by hand.
struct Pickle {
  std::string bytes = "\x80\x02";  // PROTO 2

  Pickle& op(char code) { bytes += code; return *this; }
  Pickle& raw(const std::string& text) { bytes += text; return *this; }
  Pickle& u32(std::uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes += static_cast<char>((value >> (8 * i)) & 0xff);
    return *this;
  }
  Pickle& u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>((value >> (8 * i)) & 0xff);
    return *this;
  }
  Pickle& string(const std::string& text) { return op('X').u32(static_cast<std::uint32_t>(text.size())).raw(text); }
  Pickle& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  Pickle& integer(std::int32_t value) { return op('J').u32(static_cast<std::uint32_t>(value)); }
  Pickle& long_integer(std::int64_t value) {  // LONG1 of 8 bytes
    op('\x8a').raw(std::string(1, '\x08'));
    return u64(static_cast<std::uint64_t>(value));
  }
  /// A tensor through torch._utils._rebuild_tensor_v2 over storage "0" of `numel` floats.
  Pickle& tensor(std::int64_t numel, std::int64_t offset, std::int64_t size, std::int64_t stride) {
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');  // the arguments tuple
    op('(').string("storage").global("torch", "FloatStorage").string("0").string("cpu")
        .long_integer(numel).op('t').op('Q');  // BINPERSID
    long_integer(offset);
    op('(').long_integer(size).op('t');
    op('(').long_integer(stride).op('t');
    op('\x89');  // requires_grad False
    global("collections", "OrderedDict").op(')').op('R');  // backward hooks
    return op('t').op('R');
  }
  /// {"weight": <what the callback pushes>} and STOP.
  template <class Value>
  std::string dict_of(Value&& value) {
    op('}').string("weight");
    value(*this);
    op('s').op('.');
    return bytes;
  }
};

/// A zip-format torch.save archive holding `pickle` and a storage record "0" of `storage_bytes`.
std::filesystem::path archive(const TempDir& dir, const std::string& pickle, std::size_t storage_bytes = 16) {
  const auto file = dir / "hostile.pt";
  caffe2::serialize::PyTorchStreamWriter writer(file.string());
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("byteorder", "little", 6);
  const std::string storage(storage_bytes, '\0');
  writer.writeRecord("data/0", storage.data(), storage.size());
  writer.writeEndOfFile();
  return file;
}

/// The DataError message of loading `file` ("" when it loads; any other exception fails).
std::string refusal(const std::filesystem::path& file) {
  try {
    fgreid::detail::load_tensor_dict(file);
  } catch (const fgreid::DataError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a hand-assembled state dict of one tensor loads (the harness itself is sound)") {
  TempDir dir;
  const auto file = archive(dir, Pickle{}.dict_of([](Pickle& p) { p.tensor(4, 0, 4, 1); }));
  const auto tensors = fgreid::detail::load_tensor_dict(file);
  REQUIRE(tensors.size() == 1);
  CHECK(tensors[0].first == "weight");
  CHECK(tensors[0].second.numel() == 4);
}

TEST_CASE("globals a state dict does not need are refused by name, before anything is built") {
  TempDir dir;
  for (const auto& [module, name] : {std::pair{"os", "system"}, std::pair{"builtins", "eval"},
                                     std::pair{"subprocess", "Popen"},
                                     std::pair{"torch", "load"}, std::pair{"numpy", "load"},
                                     std::pair{"argparse", "Namespace"}}) {
    CAPTURE(name);
    const auto file = archive(dir, Pickle{}.dict_of([&](Pickle& p) {
      p.global(module, name).op('(').string("echo pwned").op('t').op('R');
    }));
    const auto message = refusal(file);
    CHECK(message.starts_with(file.string()));
    CHECK(message.find(std::string(module) + "." + name) != std::string::npos);
  }
  // STACK_GLOBAL spells the same refusal.
  const auto file = archive(dir, Pickle{}.dict_of([](Pickle& p) {
    p.string("posix").string("system").op('\x93');
  }));
  CHECK(refusal(file).find("posix.system") != std::string::npos);
}

TEST_CASE("a storage larger than its record is refused before it is allocated") {
  TempDir dir;
  // 2^60 floats (4 EiB) claimed for a 16-byte record: allocating first would abort or swap.
  const auto huge = archive(dir, Pickle{}.dict_of([](Pickle& p) { p.tensor(std::int64_t{1} << 60, 0, 1, 1); }));
  const auto message = refusal(huge);
  CHECK(message.starts_with(huge.string()));
  CHECK(message.find("data/0") != std::string::npos);
  const auto negative = archive(dir, Pickle{}.dict_of([](Pickle& p) { p.tensor(-4, 0, 1, 1); }));
  CHECK(refusal(negative).starts_with(negative.string()));
}

TEST_CASE("tensor views outside their storage are refused: negative or overflowing offsets, sizes, strides") {
  TempDir dir;
  struct View { std::int64_t offset, size, stride; };
  for (const auto view : {View{-1, 2, 1}, View{0, 2, -1}, View{0, -2, 1}, View{3, 2, 1},
                          View{0, std::int64_t{1} << 62, std::int64_t{1} << 62},
                          View{std::int64_t{1} << 62, 1, 1}}) {
    CAPTURE(view.offset);
    CAPTURE(view.size);
    CAPTURE(view.stride);
    const auto file = archive(dir, Pickle{}.dict_of([&](Pickle& p) { p.tensor(4, view.offset, view.size, view.stride); }));
    CHECK(refusal(file).starts_with(file.string()));
  }
}

TEST_CASE("lengths that run past the pickle, even by wrapping around, are a truncated pickle") {
  TempDir dir;
  for (const std::uint64_t length : {std::uint64_t{1000}, ~std::uint64_t{0}, ~std::uint64_t{0} - 3}) {
    CAPTURE(length);
    Pickle p;
    p.op('\x8d').u64(length).raw("abc");  // BINUNICODE8
    const auto file = archive(dir, p.bytes);
    const auto message = refusal(file);
    CHECK(message.starts_with(file.string()));
    CHECK(message.find("truncated") != std::string::npos);
  }
}

TEST_CASE("a zip whose record cannot be read is a DataError naming the file, not a library exception") {
  TempDir dir;
  const auto file = archive(dir, Pickle{}.dict_of([](Pickle& p) { p.tensor(4, 0, 4, 1); }));
  // Cut the archive inside the storage record: the directory at the end goes with it.
  const auto size = std::filesystem::file_size(file);
  std::filesystem::resize_file(file, size - 30);
  CHECK(refusal(file).starts_with(file.string()));
}

TEST_CASE("a view of a stride-0 view is bounded by the storage's bytes, not by the outer view's numel") {
  TempDir dir;
  // t = 2^40 elements over storage "0" (4 floats) with stride 0: inside it. A view of t that
  // passes t itself as its storage, 2^36 elements with stride 1, reaches 256 GiB past the 16
  // bytes: bounded by t.numel() it passed, and set_ grew the storage to fit.
  const auto file = archive(dir, Pickle{}.dict_of([](Pickle& p) {
    p.global("torch._utils", "_rebuild_tensor_v2").op('(');
    p.tensor(4, 0, std::int64_t{1} << 40, 0);
    p.long_integer(0).op('(').long_integer(std::int64_t{1} << 36).op('t');
    p.op('(').long_integer(1).op('t').op('\x89');
    p.global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
  }));
  const auto message = refusal(file);
  CHECK(message.starts_with(file.string()));
  CHECK(message.find("reaches past its storage of 4 elements") != std::string::npos);
}

TEST_CASE("a zip header that claims more bytes than the file holds is refused before allocating") {
  TempDir dir;
  // A storage of 2^28 floats (1 GiB) over a 16-byte record whose central directory entry is
  // re-labelled deflated with 2 GiB uncompressed: a reader that trusts the entry finds the
  // storage small enough and allocates 1 GiB before the inflation fails.
  const auto file = archive(dir, Pickle{}.dict_of([](Pickle& p) { p.tensor(std::int64_t{1} << 28, 0, 4, 1); }));
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto entry = bytes.rfind("PK\x01\x02", bytes.rfind("/data/0"));
  REQUIRE(entry != std::string::npos);
  bytes[entry + 10] = 8;  // compression method: deflate
  const std::uint32_t claimed = 0x7fffffff;
  for (int i = 0; i < 4; ++i) bytes[entry + 24 + i] = static_cast<char>((claimed >> (8 * i)) & 0xff);
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const auto message = refusal(file);
  CHECK(message.starts_with(file.string()));
  CHECK(message.find("claims 2147483647 bytes") != std::string::npos);
}
