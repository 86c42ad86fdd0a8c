#pragma once
// The Mersenne Twister exactly as the seed's Python drives it, so that a split or a gallery
// draw made here is the one the seed's code makes: numpy's legacy RandomState (np.random.seed
// and np.random.shuffle: CUHK01's identity order) and CPython's random module (random.seed and
// random.choice: VehicleID's gallery images).
#include <cstdint>
#include <span>
#include <vector>

namespace fgreid::datasets {

/// MT19937 (Matsumoto & Nishimura) with the two seedings the reference C code offers.
class LegacyMT19937 {
 public:
  /// numpy's np.random.seed(seed) for an integer 0..2^32-1: init_genrand, i.e. std::mt19937(seed).
  [[nodiscard]] static LegacyMT19937 numpy(std::uint32_t seed);
  /// CPython's random.seed(seed) for an int: init_by_array over the 32-bit words of |seed|,
  /// least significant first.
  [[nodiscard]] static LegacyMT19937 python(std::int64_t seed);

  /// The next 32-bit output (genrand_uint32).
  std::uint32_t next();

 private:
  LegacyMT19937() = default;
  void init_genrand(std::uint32_t seed);
  void init_by_array(std::span<const std::uint32_t> key);

  std::uint32_t state_[624] = {};
  int index_ = 624;
};

/// np.random.shuffle of a 1-d array with the legacy generator: for i = n-1 down to 1, swap
/// element i with element random_interval(i), a draw in [0, i] by masked rejection.
void numpy_shuffle(std::vector<std::int64_t>& values, LegacyMT19937& rng);

/// CPython's Random._randbelow(n) (n >= 1) through getrandbits: the index random.choice picks
/// from a sequence of n.
[[nodiscard]] std::size_t python_randbelow(LegacyMT19937& rng, std::size_t n);

}  // namespace fgreid::datasets
