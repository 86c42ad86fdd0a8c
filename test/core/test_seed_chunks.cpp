// samplers::SeedIdentityChunks: the seed's sampler, identities in order and one image from each
// of K chunks. (What every sampler must do, test_policy_contracts.cpp checks.)
#include <fgreid/samplers/seed_chunks.hpp>

#include <doctest/doctest.h>

#include <map>
#include <vector>

static_assert(fgreid::Sampler<fgreid::samplers::SeedIdentityChunks<32, 4>>);

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
