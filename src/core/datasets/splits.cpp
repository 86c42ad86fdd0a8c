#include <fgreid/datasets/splits.hpp>

#include <set>

namespace fgreid::datasets {

namespace {

template <class Field>
std::size_t count_distinct(const std::vector<Entry>& entries, Field field) {
  std::set<std::int64_t> values;
  for (const auto& entry : entries) values.insert(entry.*field);
  return values.size();
}

nlohmann::json summarize_split(const std::vector<Entry>& entries) {
  return {{"ids", count_distinct(entries, &Entry::pid)},
          {"images", entries.size()},
          {"cameras", count_distinct(entries, &Entry::camid)}};
}

}  // namespace

std::int64_t Splits::num_train_ids() const {
  return static_cast<std::int64_t>(count_distinct(train, &Entry::pid));
}

nlohmann::json summarize(const Splits& splits) {
  nlohmann::json summary = {{"train", summarize_split(splits.train)},
                            {"query", summarize_split(splits.query)},
                            {"gallery", summarize_split(splits.gallery)}};
  if (!splits.info.empty()) summary["split"] = splits.info;
  return summary;
}

}  // namespace fgreid::datasets
