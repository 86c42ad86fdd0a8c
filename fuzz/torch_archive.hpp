#pragma once
// Inputs for the zip-pickle harnesses. A zip archive has CRCs and offsets that random
// mutations mostly break at the first check, so the first byte picks what the rest is:
//   1: the data.pkl pickle only, wrapped here in a well-formed archive whose records
//      data/0 .. data/7 hold 64 bytes each (the storages a pickle may name), so that the
//      fuzzer reaches the unpickler itself;
//   any other: the file itself, as a user would pass it.
#include <caffe2/serialize/inline_container.h>

#include "fuzz_input.hpp"

#include <string>

namespace fgreid::fuzz {

/// The file that the input `data` stands for (see above).
inline std::string torch_file_bytes(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  if (data[0] != 1) return std::string(as_text(data + 1, size - 1));
  std::string archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, std::size_t count) {
    archive.append(static_cast<const char*>(bytes), count);
    return count;
  });
  writer.writeRecord("data.pkl", data + 1, size - 1);
  writer.writeRecord("byteorder", "little", 6);
  const std::string storage(64, '\x01');
  for (int key = 0; key < 8; ++key)
    writer.writeRecord("data/" + std::to_string(key), storage.data(), storage.size());
  writer.writeEndOfFile();
  return archive;
}

/// That file, written to scratch()/name.
inline std::filesystem::path torch_file(std::string_view name, const std::uint8_t* data,
                                        std::size_t size) {
  return write_file(name, torch_file_bytes(data, size));
}

}  // namespace fgreid::fuzz
