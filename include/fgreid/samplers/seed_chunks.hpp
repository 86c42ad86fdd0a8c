#pragma once
#include <fgreid/samplers/pk.hpp>

#include <map>
#include <random>

namespace fgreid::samplers {

/// The seed's training batches (tools/video_loader.py, VideoDataset_inderase): one entry per
/// identity, in label order and never shuffled; entry i yields K images, the j-th drawn
/// uniformly from the j-th of K chunks of max(n / K, 1) images of that identity's list (the
/// last chunk runs to the end, short lists repeat their last image). P consecutive entries
/// form a batch; the last partial batch is dropped. Unlike torchreid's RandomIdentity, an
/// epoch is one pass over the identities (not over the images) and its batches always
/// group the same identities.
class IdentityChunks {
 public:
  IdentityChunks(std::span<const std::int64_t> labels, int batch_p, int batch_k);
  void reset(std::uint64_t seed);
  std::optional<std::vector<std::int64_t>> next();
  [[nodiscard]] std::int64_t batches_per_epoch() const;

 private:
  int batch_p_, batch_k_;
  std::vector<std::vector<std::int64_t>> by_identity_;  // label order
  std::size_t next_identity_ = 0;
  std::mt19937_64 rng_;
};

/// The seed's sampler as a policy: `samplers::SeedIdentityChunks<32, 4>` is its batch of 32
/// identities × 4 images.
template <int P, int K>
struct SeedIdentityChunks : detail::PKPolicy<IdentityChunks, P, K> {
  static constexpr std::string_view name =
      "sampler (the seed's: P identities in order x K chunked images)";
  using detail::PKPolicy<IdentityChunks, P, K>::PKPolicy;
};

}  // namespace fgreid::samplers
