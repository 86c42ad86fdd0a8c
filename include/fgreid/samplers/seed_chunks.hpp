#pragma once
#include <fgreid/samplers/concept.hpp>

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
struct SeedIdentityChunks {
  static_assert(P >= 2, "SeedIdentityChunks<P, K>: a batch needs at least two identities");
  static_assert(K >= 1, "SeedIdentityChunks<P, K>: K is the number of images per identity");
  static constexpr std::string_view name = "sampler (the seed's: P identities in order x K chunked images)";
  struct Options {
    /// Identities per batch (P; the seed's --train-batch).
    int batch_p = P;
    /// Images per identity, one from each of K chunks of its list (K; the seed's --seq-len).
    int batch_k = K;
    FGREID_REFLECT(Options, batch_p, batch_k);
  };

  SeedIdentityChunks(std::span<const std::int64_t> labels, Options options)
      : sampler_(labels, options.batch_p, options.batch_k) {}
  void reset(std::uint64_t seed) { sampler_.reset(seed); }
  std::optional<std::vector<std::int64_t>> next() { return sampler_.next(); }
  [[nodiscard]] std::int64_t batches_per_epoch() const { return sampler_.batches_per_epoch(); }

 private:
  IdentityChunks sampler_;
};

}  // namespace fgreid::samplers
