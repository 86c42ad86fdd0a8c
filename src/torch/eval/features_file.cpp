#include <fgreid/detail/pickle.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/features_file.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fgreid::eval {

namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 6> kRequiredKeys = {
    "query_features", "gallery_features", "query_pids",
    "gallery_pids",   "query_camids",     "gallery_camids"};

std::string describe(const torch::Tensor& tensor) {
  return fmt::format("a {} tensor of shape {}", c10::toString(tensor.scalar_type()),
                     c10::str(tensor.sizes()));
}

/// The labels of one side under their file keys, frames only when present.
std::vector<std::pair<std::string_view, const torch::Tensor*>> labels_of(
    const FeatureSet& set, bool query) {
  std::vector<std::pair<std::string_view, const torch::Tensor*>> labels;
  if (query) {
    labels = {{"query_pids", &set.query_pids}, {"query_camids", &set.query_camids}};
    if (set.query_frames) labels.emplace_back("query_frames", &*set.query_frames);
  } else {
    labels = {{"gallery_pids", &set.gallery_pids}, {"gallery_camids", &set.gallery_camids}};
    if (set.gallery_frames) labels.emplace_back("gallery_frames", &*set.gallery_frames);
  }
  return labels;
}

/// The training set's optional labels under their file keys, when present.
std::vector<std::pair<std::string_view, const torch::Tensor*>> train_labels_of(
    const FeatureSet& set) {
  std::vector<std::pair<std::string_view, const torch::Tensor*>> labels;
  if (set.train_pids) labels.emplace_back("train_pids", &*set.train_pids);
  if (set.train_camids) labels.emplace_back("train_camids", &*set.train_camids);
  if (set.train_frames) labels.emplace_back("train_frames", &*set.train_frames);
  return labels;
}

/// What is wrong with the shapes of `set`, if anything: the first problem found.
std::optional<std::string> shape_problem(const FeatureSet& set) {
  for (const bool query : {true, false}) {
    const std::string_view features_key = query ? "query_features" : "gallery_features";
    const torch::Tensor& features = query ? set.query_features : set.gallery_features;
    if (!features.defined()) return fmt::format("'{}' is not set", features_key);
    if (features.dim() != 2)
      return fmt::format("'{}' is {}, expected a 2-D [N, D] matrix", features_key,
                         describe(features));
    for (const auto& [key, labels] : labels_of(set, query)) {
      if (!labels->defined()) return fmt::format("'{}' is not set", key);
      if (labels->dim() != 1)
        return fmt::format("'{}' is {}, expected a 1-D vector", key, describe(*labels));
      if (labels->size(0) != features.size(0))
        return fmt::format("'{}' has {} entries but '{}' has {} rows", key, labels->size(0),
                           features_key, features.size(0));
    }
  }
  const int train_keys = (set.train_pids ? 1 : 0) + (set.train_camids ? 1 : 0) +
                         (set.train_frames ? 1 : 0);
  if (train_keys != 0 && train_keys != 3)
    return std::string("'train_pids', 'train_camids' and 'train_frames' go together: only ") +
           (set.train_pids ? "'train_pids' " : "") + (set.train_camids ? "'train_camids' " : "") +
           (set.train_frames ? "'train_frames' " : "") + "is set";
  if (train_keys == 3) {
    for (const auto& [key, labels] : train_labels_of(set)) {
      if (!labels->defined()) return fmt::format("'{}' is not set", key);
      if (labels->dim() != 1)
        return fmt::format("'{}' is {}, expected a 1-D vector", key, describe(*labels));
      if (labels->size(0) != set.train_pids->size(0))
        return fmt::format("'{}' has {} entries but 'train_pids' has {}", key, labels->size(0),
                           set.train_pids->size(0));
    }
  }
  if (set.query_features.size(1) != set.gallery_features.size(1))
    return fmt::format("query features have {} dimensions but gallery features have {}",
                       set.query_features.size(1), set.gallery_features.size(1));
  return std::nullopt;
}

/// What makes the values of a well-shaped `set` unusable for an evaluation, if anything: no
/// rows on a side, no dimensions, or a non-finite feature (NaN distances would rank at random
/// and still print metrics).
std::optional<std::string> value_problem(const FeatureSet& set) {
  for (const bool query : {true, false}) {
    const std::string_view side = query ? "query" : "gallery";
    const torch::Tensor& features = query ? set.query_features : set.gallery_features;
    if (features.size(0) == 0) return fmt::format("holds no {} rows", side);
    if (features.size(1) == 0) return fmt::format("the features have 0 dimensions");
    const auto finite_rows = torch::isfinite(features).all(1);
    if (!finite_rows.all().item<bool>())
      return fmt::format("'{}_features' row {} is not finite (NaN or infinite): the model that "
                         "wrote it diverged or the file is damaged",
                         side, (~finite_rows).nonzero()[0].item<std::int64_t>());
  }
  return std::nullopt;
}

/// The entries of a loaded dict, checked one by one with the file named in every error.
class EntryReader {
 public:
  EntryReader(std::string file, std::vector<detail::DictEntry> entries)
      : file_(std::move(file)), entries_(std::move(entries)) {}

  torch::Tensor features(std::string_view key) const {
    torch::Tensor tensor = *entry(key, /*required=*/true);
    if (!tensor.is_floating_point() || tensor.dim() != 2)
      throw DataError(fmt::format("{}: '{}' is {}, expected a 2-D float tensor [N, D]", file_,
                                  key, describe(tensor)));
    return tensor.to(torch::kFloat).contiguous();
  }

  std::optional<torch::Tensor> labels(std::string_view key, bool required = true) const {
    auto tensor = entry(key, required);
    if (!tensor) return std::nullopt;
    if (!c10::isIntegralType(tensor->scalar_type(), /*includeBool=*/false) || tensor->dim() != 1)
      throw DataError(fmt::format("{}: '{}' is {}, expected a 1-D integer tensor", file_, key,
                                  describe(*tensor)));
    return tensor->to(torch::kLong).contiguous();
  }

 private:
  /// The tensor under `key` (the last, as Python's dict keeps it); a None value counts as
  /// absent (Python writers may store one for the optional frames).
  std::optional<torch::Tensor> entry(std::string_view key, bool required) const {
    const auto found = std::ranges::find(entries_.rbegin(), entries_.rend(), key,
                                         &detail::DictEntry::key);
    if (found == entries_.rend() || found->kind == "None") {
      if (!required) return std::nullopt;
      throw DataError(fmt::format("{}: no '{}' entry (a features file holds {})", file_, key,
                                  fmt::join(kRequiredKeys, ", ")));
    }
    if (!found->tensor.defined())
      throw DataError(fmt::format("{}: '{}' is a {}, not a tensor", file_, key, found->kind));
    return found->tensor;
  }

  std::string file_;
  std::vector<detail::DictEntry> entries_;
};

}  // namespace

void save_features(const fs::path& path, const FeatureSet& features) {
  if (auto problem = shape_problem(features))
    throw std::invalid_argument(fmt::format("save_features({}): {}", path.string(), *problem));
  c10::Dict<std::string, torch::Tensor> dict;
  auto put = [&](std::string_view key, const torch::Tensor& tensor, torch::ScalarType type) {
    dict.insert(std::string(key), tensor.detach().to(torch::kCPU, type).contiguous());
  };
  put("query_features", features.query_features, torch::kFloat);
  put("gallery_features", features.gallery_features, torch::kFloat);
  for (const bool query : {true, false})
    for (const auto& [key, labels] : labels_of(features, query)) put(key, *labels, torch::kLong);
  for (const auto& [key, labels] : train_labels_of(features)) put(key, *labels, torch::kLong);
  write_file_atomically(path, detail::pickle_untagged(c10::IValue(dict)));
}

FeatureSet load_features(const fs::path& path) {
  const std::string file = path.string();
  std::error_code ignored;
  if (!fs::is_regular_file(path, ignored))
    throw DataError(fmt::format("{}: no such features file", file));
  std::error_code size_error;
  if (fs::file_size(path, size_error) == 0 && !size_error)
    throw DataError(fmt::format("{}: the features file is empty", file));

  // Our hardened reader, not torch::pickle_load: that one allocates whatever length a
  // damaged or hostile pickle claims (fuzz/features.cpp found 4 GB from a 160-byte file).
  const EntryReader reader(file, detail::load_dict(path));
  FeatureSet set;
  set.query_features = reader.features("query_features");
  set.gallery_features = reader.features("gallery_features");
  set.query_pids = *reader.labels("query_pids");
  set.gallery_pids = *reader.labels("gallery_pids");
  set.query_camids = *reader.labels("query_camids");
  set.gallery_camids = *reader.labels("gallery_camids");
  set.query_frames = reader.labels("query_frames", /*required=*/false);
  set.gallery_frames = reader.labels("gallery_frames", /*required=*/false);
  set.train_pids = reader.labels("train_pids", /*required=*/false);
  set.train_camids = reader.labels("train_camids", /*required=*/false);
  set.train_frames = reader.labels("train_frames", /*required=*/false);
  if (auto problem = shape_problem(set)) throw DataError(fmt::format("{}: {}", file, *problem));
  if (auto problem = value_problem(set)) throw DataError(fmt::format("{}: {}", file, *problem));
  return set;
}

}  // namespace fgreid::eval
