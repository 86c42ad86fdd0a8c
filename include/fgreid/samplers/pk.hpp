#pragma once
#include <fgreid/samplers/concept.hpp>

#include <deque>
#include <map>

namespace fgreid::samplers {

/// torchreid's RandomIdentitySampler: each epoch, every identity's images are shuffled and cut
/// into groups of K (an identity with fewer than K images is drawn K times with replacement;
/// a last incomplete group is dropped); batches take P identities at random among those with
/// groups left, one group each, until fewer than P identities have groups left.
class RandomIdentity {
 public:
  RandomIdentity(std::span<const std::int64_t> labels, int batch_p, int batch_k);
  void reset(std::uint64_t seed);
  std::optional<std::vector<std::int64_t>> next();
  [[nodiscard]] std::int64_t batches_per_epoch() const { return batches_per_epoch_; }

 private:
  int batch_p_, batch_k_;
  std::vector<std::vector<std::int64_t>> by_identity_;  ///< by label, in increasing order
  std::deque<std::vector<std::int64_t>> batches_;
  std::int64_t batches_per_epoch_ = 0;
};

namespace detail {

/// The indices of `labels` grouped by label, labels in increasing order: what the P × K samplers
/// draw from. UsageError unless batch_p >= 2, batch_k >= 1, there are at least batch_p labels
/// and some label has batch_k indices (a K that no identity fills is a typo, not a sampling plan).
[[nodiscard]] std::vector<std::vector<std::int64_t>> indices_by_label(std::span<const std::int64_t> labels,
                                                                       int batch_p, int batch_k);

/// The policy face shared by P × K samplers: Options {batch_p, batch_k} with compile-time
/// defaults, forwarding to `Impl`, a batch maker built from (labels, P, K).
template <class Impl, int P, int K>
class PKPolicy {
  static_assert(P >= 2, "a P x K sampler needs at least two identities per batch (P >= 2)");
  static_assert(K >= 1, "K is the number of images per identity, at least 1");

 public:
  struct Options {
    /// P identities × K images (--batch-p, --batch-k).
    BatchOptions batch{.batch_p = P, .batch_k = K};
    FGREID_REFLECT(Options, batch);
  };

  PKPolicy(std::span<const std::int64_t> labels, Options options)
      : sampler_(labels, options.batch.batch_p, options.batch.batch_k) {}
  void reset(std::uint64_t seed) { sampler_.reset(seed); }
  std::optional<std::vector<std::int64_t>> next() { return sampler_.next(); }
  [[nodiscard]] std::int64_t batches_per_epoch() const { return sampler_.batches_per_epoch(); }

 private:
  Impl sampler_;
};

}  // namespace detail

/// torchreid's sampler as a policy, with its defaults fixed at compile time:
/// `samplers::PK<16, 4>`.
template <int P, int K>
struct PK : detail::PKPolicy<RandomIdentity, P, K> {
  static constexpr std::string_view name = "sampler (P identities x K images, shuffled)";
  using detail::PKPolicy<RandomIdentity, P, K>::PKPolicy;
};

}  // namespace fgreid::samplers
