// samplers::PK: P identities × K images drawn at random. (What every sampler must do,
// test_policy_contracts.cpp checks.)
#include <fgreid/error.hpp>
#include <fgreid/samplers/pk.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

static_assert(fgreid::Sampler<fgreid::samplers::PK<16, 4>>);
static_assert(!fgreid::Sampler<int>);

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

TEST_CASE("a K that no identity has images for is a usage error naming --batch-k") {
  const std::vector<std::int64_t> labels{0, 0, 1, 1, 1, 2};  // the most any identity has: 3
  CHECK_NOTHROW((fgreid::samplers::PK<2, 3>(labels, {})));
  CHECK_THROWS_WITH_AS((fgreid::samplers::PK<2, 4>(labels, {})),
                       doctest::Contains("--batch-k 4: no training identity has that many items (the most is 3)"),
                       fgreid::UsageError);
  CHECK_THROWS_WITH_AS((fgreid::samplers::detail::indices_by_label(labels, 2, 5)), doctest::Contains("--batch-k 5"),
                       fgreid::UsageError);
}
