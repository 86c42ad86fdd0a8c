#pragma once
// The zip-format pickles of Python's torch.save, read and written without Python.
//
// LibTorch's own readers do not cover what Python writes: torch::pickle_load turns the
// collections.OrderedDict that every nn.Module.state_dict() is (with its `_metadata`
// attribute) into None, and torch::pickle_save tags dicts with a global that
// torch.load(weights_only=True) refuses. The functions here handle exactly the subset that
// state dicts and dicts of tensors use. The files are untrusted (a downloaded weights file):
// the reader names nothing outside a whitelist, calls nothing it names, bounds every length by
// the file's size and is fuzzed (fuzz/pickle.cpp, fuzz/features.cpp).
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fgreid::detail {

/// Name -> tensor pairs in file order.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The bytes of a zip-format pickle of `value` (tensors, strings, numbers and dicts/lists of
/// them) without LibTorch's type tags, so that Python's torch.load(weights_only=True) reads it.
std::string pickle_untagged(const c10::IValue& value);

/// The string -> tensor entries of the dict that the zip-format torch.save `file` holds: a
/// plain dict or an OrderedDict (its `_metadata` is dropped); other values are skipped. Where
/// the top-level dict holds no tensors but one of its values is a dict that does
/// (`{"state_dict": {...}, "epoch": 3}`), that dict's tensors are returned. Throws DataError
/// starting with the path when the file is missing or not such a file.
NamedTensors load_tensor_dict(const std::filesystem::path& file);

/// One string-keyed entry of a pickled dict.
struct DictEntry {
  std::string key;
  torch::Tensor tensor;  ///< undefined when the value is not a tensor
  std::string kind;      ///< what the value is: "Tensor", "None", "list", "str", "int", ...
};

/// The string-keyed entries of the dict that the zip-format torch.save `file` holds, in file
/// order (the features file's reader). The same hardened reader as load_tensor_dict; DataError
/// starting with the path when the file is missing, unreadable or holds no dict at the top.
std::vector<DictEntry> load_dict(const std::filesystem::path& file);

}  // namespace fgreid::detail
