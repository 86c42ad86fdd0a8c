#include <fgreid/error.hpp>
#include <fgreid/samplers/pk.hpp>
#include <fgreid/samplers/seed_chunks.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

static_assert(fgreid::Sampler<fgreid::samplers::PK<16, 4>>);
static_assert(!fgreid::Sampler<int>);
static_assert(fgreid::Sampler<fgreid::samplers::SeedIdentityChunks<32, 4>>);

TEST_CASE("P x K batches hold P identities K times each") {
  // 10 identities with 1..10 images: identities 0..2 have fewer than K = 4.
  std::vector<std::int64_t> labels;
  for (std::int64_t pid = 0; pid < 10; ++pid)
    for (std::int64_t i = 0; i <= pid; ++i) labels.push_back(pid);
  fgreid::samplers::PK<3, 4> sampler(labels, {});
  sampler.reset(7);
  int batches = 0;
  std::map<std::int64_t, int> groups_of;
  while (auto batch = sampler.next()) {
    ++batches;
    REQUIRE(batch->size() == 12);
    std::map<std::int64_t, std::vector<std::int64_t>> by_pid;
    for (auto index : *batch) by_pid[labels.at(static_cast<std::size_t>(index))].push_back(index);
    CHECK(by_pid.size() == 3);
    for (const auto& [pid, indices] : by_pid) {
      CHECK(indices.size() == 4);
      ++groups_of[pid];
      const std::set<std::int64_t> distinct(indices.begin(), indices.end());
      if (pid >= 3) CHECK(distinct.size() == 4);  // enough images: no repeats within a group
    }
  }
  CHECK(batches == sampler.batches_per_epoch());
  CHECK(batches > 0);
  // An identity with n >= K images contributes at most n / K groups per epoch.
  for (const auto& [pid, groups] : groups_of) CHECK(groups <= std::max<std::int64_t>(1, (pid + 1) / 4));
}

TEST_CASE("an identity with fewer than K images is drawn with replacement") {
  std::vector<std::int64_t> labels{0, 1, 2, 2, 2, 2};
  fgreid::samplers::PK<3, 4> sampler(labels, {});
  auto batch = sampler.next();
  REQUIRE(batch);
  CHECK(std::ranges::count(*batch, 0) == 4);  // the single image of identity 0, four times
  CHECK(std::ranges::count(*batch, 1) == 4);
}

TEST_CASE("an epoch is reproducible from its seed and differs between seeds") {
  std::vector<std::int64_t> labels;
  for (std::int64_t pid = 0; pid < 20; ++pid)
    for (int i = 0; i < 8; ++i) labels.push_back(pid);
  auto epoch = [&](std::uint64_t seed) {
    fgreid::samplers::PK<4, 4> sampler(labels, {});
    sampler.reset(seed);
    std::vector<std::int64_t> all;
    while (auto b = sampler.next()) all.insert(all.end(), b->begin(), b->end());
    return all;
  };
  CHECK(epoch(3) == epoch(3));
  CHECK(epoch(3) != epoch(4));
  // 2 groups of 4 per identity; the epoch ends once fewer than P identities have groups left,
  // so at most P - 1 = 3 identities keep unused groups (2 groups of 4 images each).
  const auto size = epoch(3).size();
  CHECK(size % 16 == 0);
  CHECK(size <= labels.size());
  CHECK(size >= labels.size() - 3 * 2 * 4);
}

TEST_CASE("a sampler asking for more identities than exist is a usage error") {
  std::vector<std::int64_t> labels{0, 0, 1, 1};
  CHECK_THROWS_AS((fgreid::samplers::PK<4, 2>(labels, {})), fgreid::UsageError);
}

TEST_CASE("the seed's sampler takes identities in order, one image from each of K chunks") {
  // Identity 0 has 10 images (chunks of 10 / 4 = 2: [0,1] [2,3] [4,5] [6..9]), identity 1 has
  // 2 (chunks of 1: [10] [11] then the last index repeated), identities 2..4 one each.
  std::vector<std::int64_t> labels{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
  fgreid::samplers::SeedIdentityChunks<2, 4> sampler(labels, {});
  CHECK(sampler.batches_per_epoch() == 2);  // 5 identities: the fifth is dropped
  std::vector<std::vector<std::int64_t>> epoch;
  sampler.reset(11);
  while (auto batch = sampler.next()) epoch.push_back(*batch);
  REQUIRE(epoch.size() == 2);
  const auto& first = epoch[0];
  REQUIRE(first.size() == 8);
  CHECK((first[0] >= 0 && first[0] <= 1));
  CHECK((first[1] >= 2 && first[1] <= 3));
  CHECK((first[2] >= 4 && first[2] <= 5));
  CHECK((first[3] >= 6 && first[3] <= 9));
  CHECK(std::vector<std::int64_t>(first.begin() + 4, first.end()) ==
        std::vector<std::int64_t>{10, 11, 11, 11});
  CHECK(epoch[1] == std::vector<std::int64_t>{12, 12, 12, 12, 13, 13, 13, 13});

  // Over many epochs each chunk of identity 0 is covered, and the last chunk's four images too.
  std::map<std::int64_t, int> seen;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    sampler.reset(seed);
    const auto batch = *sampler.next();
    for (int j = 0; j < 4; ++j) ++seen[batch[static_cast<std::size_t>(j)]];
  }
  CHECK(seen.size() == 10);
  sampler.reset(11);
  CHECK(*sampler.next() == epoch[0]);  // reproducible from the seed
}
