// The contracts that every policy of a family keeps, checked once for all of them (what is
// particular to one policy is tested in its own file):
//   - every dataset: its synthetic stand-in, written into an empty folder, reads back by its own
//     loader into non-empty splits of entries that hold existing files (one image each, or a
//     tracklet's frames), training ids 0..N-1; an empty folder is a DataError naming it.
//   - every sampler: an epoch is batches_per_epoch() batches of P identities × K samples, the
//     same for the same seed and another for another seed.
#include <fgreid/datasets/concept.hpp>
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/datasets/cuhk03.hpp>
#include <fgreid/datasets/custom.hpp>
#include <fgreid/datasets/dukemtmc_video.hpp>
#include <fgreid/datasets/dukemtmcreid.hpp>
#include <fgreid/datasets/grid.hpp>
#include <fgreid/datasets/ilidsvid.hpp>
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/mars.hpp>
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/datasets/prid2011.hpp>
#include <fgreid/datasets/vehicleid.hpp>
#include <fgreid/datasets/veri776.hpp>
#include <fgreid/datasets/vric.hpp>
#include <fgreid/error.hpp>
#include <fgreid/modality.hpp>
#include <fgreid/samplers/concept.hpp>
#include <fgreid/samplers/pk.hpp>
#include <fgreid/samplers/seed_chunks.hpp>
#include <fgreid/samplers/video_pk.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "dataset_support.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
namespace sm = fgreid::samplers;

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

/// The first entry of `entries` that breaks dataset D's entry contract, described; empty when
/// none does. An image dataset's entry holds exactly one image, a video dataset's at least one
/// frame, and each of them is an existing file.
template <class D>
std::string broken_entry(const std::vector<ds::Entry>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& images = entries[i].images;
    if constexpr (D::modality == fgreid::Modality::image) {
      if (images.size() != 1) return fmt::format("entry {} holds {} images, not one", i, images.size());
    } else {
      if (images.empty()) return fmt::format("entry {} holds no frame", i);
    }
    for (const auto& image : images)
      if (!fs::is_regular_file(image)) return fmt::format("entry {}: {} is not a file", i, image.string());
  }
  return {};
}

}  // namespace

// --- datasets ----------------------------------------------------------------------------------

#define FGREID_EVERY_DATASET                                                                       \
  ds::Market1501, ds::DukeMTMCreID, ds::MSMT17, ds::VeRi776, ds::VRIC, ds::CUHK01, ds::CUHK03,     \
      ds::GRID, ds::VehicleID, ds::MARS, ds::ILIDSVID, ds::PRID2011, ds::DukeMTMCVideoReID,       \
      ds::CustomImages, ds::CustomVideo

TEST_CASE_TEMPLATE("a dataset's synthetic stand-in reads back by its own loader into non-empty splits" *
                       doctest::timeout(600),
                   D, FGREID_EVERY_DATASET) {
  static_assert(fgreid::Dataset<D>);
  fgreid::test::TempDir root;
  D::synthesize(root.path(), {});  // the one synthesize of this case: some take seconds
  const auto splits = D::load(root.path(), {});
  for (const auto& [name, entries] : {std::pair{"train", &splits.train}, std::pair{"query", &splits.query},
                                      std::pair{"gallery", &splits.gallery}}) {
    CAPTURE(name);
    REQUIRE_FALSE(entries->empty());
    const auto broken = broken_entry<D>(*entries);
    CHECK_MESSAGE(broken.empty(), broken);
  }
  // training ids are relabelled 0..N-1
  std::set<std::int64_t> relabelled;
  for (std::int64_t pid = 0; pid < splits.num_train_ids(); ++pid) relabelled.insert(pid);
  CHECK(id_set(splits.train) == relabelled);
}

TEST_CASE_TEMPLATE("a dataset refuses an empty folder with a DataError that names it", D, FGREID_EVERY_DATASET) {
  fgreid::test::TempDir empty;
  CHECK(mentions(error_of<fgreid::DataError>([&] { (void)D::load(empty.path(), {}); }), empty.path()));
  CHECK(fs::is_empty(empty.path()));  // loading writes nothing into it
}

#undef FGREID_EVERY_DATASET

// --- samplers ----------------------------------------------------------------------------------

namespace {

/// Nine identities with 3, 4 or 5 samples each, interleaved as a dataset's entries can be.
std::vector<std::int64_t> contract_labels() {
  std::vector<std::int64_t> labels;
  for (std::int64_t round = 0; round < 5; ++round)
    for (std::int64_t pid = 0; pid < 9; ++pid)
      if (round < 3 + pid % 3) labels.push_back(pid);
  return labels;
}

/// The batches of the epoch that `sampler.reset(seed)` starts, until next() gives nullopt.
template <class S>
std::vector<std::vector<std::int64_t>> epoch_of(S& sampler, std::uint64_t seed) {
  sampler.reset(seed);
  std::vector<std::vector<std::int64_t>> batches;
  while (auto batch = sampler.next()) batches.push_back(std::move(*batch));
  return batches;
}

}  // namespace

TEST_CASE_TEMPLATE("a sampler's epoch is batches_per_epoch() batches of P identities × K samples, fixed by its seed",
                   S, sm::PK<4, 2>, sm::SeedIdentityChunks<4, 2>, sm::VideoPK<4, 2, 3>) {
  static_assert(fgreid::BatchSampler<S>);
  const auto labels = contract_labels();
  REQUIRE(labels.size() == 36);
  const typename S::Options options{};
  const auto p = static_cast<std::size_t>(options.batch.batch_p);
  const auto k = options.batch.batch_k;
  CHECK(p == 4);  // the sampler's template arguments are its Options' defaults
  CHECK(k == 2);
  S sampler(labels, options);
  for (const std::uint64_t seed : {1u, 2u, 7u}) {
    CAPTURE(seed);
    const auto batches = epoch_of(sampler, seed);
    CHECK_FALSE(batches.empty());
    CHECK(static_cast<std::int64_t>(batches.size()) == sampler.batches_per_epoch());
    CHECK_FALSE(sampler.next());  // the epoch stays over
    for (const auto& batch : batches) {
      REQUIRE(batch.size() == p * static_cast<std::size_t>(k));
      std::map<std::int64_t, int> per_label;
      for (const auto index : batch) {
        REQUIRE(index >= 0);
        REQUIRE(index < static_cast<std::int64_t>(labels.size()));
        ++per_label[labels[static_cast<std::size_t>(index)]];
      }
      CHECK(per_label.size() == p);
      for (const auto& [label, count] : per_label) {
        CAPTURE(label);
        CHECK(count == k);
      }
    }
    CHECK(epoch_of(sampler, seed) == batches);  // the same seed, reset again
    S twin(labels, options);
    CHECK(epoch_of(twin, seed) == batches);  // ... or in another sampler
    CHECK(epoch_of(sampler, seed + 100) != batches);  // another seed
  }
}
