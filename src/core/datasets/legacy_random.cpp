#include <fgreid/datasets/legacy_random.hpp>

#include <algorithm>
#include <bit>
#include <utility>

namespace fgreid::datasets {

namespace {
constexpr int N = 624, M = 397;
constexpr std::uint32_t matrix_a = 0x9908b0dfU, upper_mask = 0x80000000U, lower_mask = 0x7fffffffU;
}  // namespace

void LegacyMT19937::init_genrand(std::uint32_t seed) {
  state_[0] = seed;
  for (int i = 1; i < N; ++i)
    state_[i] = 1812433253U * (state_[i - 1] ^ (state_[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
  index_ = N;
}

void LegacyMT19937::init_by_array(std::span<const std::uint32_t> key) {
  init_genrand(19650218U);
  int i = 1;
  std::size_t j = 0;
  for (auto k = std::max<std::size_t>(N, key.size()); k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1664525U)) + key[j] +
                static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= N) {
      state_[0] = state_[N - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (int k = N - 1; k > 0; --k) {
    state_[i] = (state_[i] ^ ((state_[i - 1] ^ (state_[i - 1] >> 30)) * 1566083941U)) -
                static_cast<std::uint32_t>(i);
    ++i;
    if (i >= N) {
      state_[0] = state_[N - 1];
      i = 1;
    }
  }
  state_[0] = 0x80000000U;
  index_ = N;
}

LegacyMT19937 LegacyMT19937::numpy(std::uint32_t seed) {
  LegacyMT19937 rng;
  rng.init_genrand(seed);
  return rng;
}

LegacyMT19937 LegacyMT19937::python(std::int64_t seed) {
  auto magnitude = seed < 0 ? 0 - static_cast<std::uint64_t>(seed) : static_cast<std::uint64_t>(seed);
  std::vector<std::uint32_t> key;
  do {
    key.push_back(static_cast<std::uint32_t>(magnitude & 0xffffffffU));
    magnitude >>= 32;
  } while (magnitude != 0);
  LegacyMT19937 rng;
  rng.init_by_array(key);
  return rng;
}

std::uint32_t LegacyMT19937::next() {
  if (index_ >= N) {
    for (int k = 0; k < N; ++k) {
      const std::uint32_t y = (state_[k] & upper_mask) | (state_[(k + 1) % N] & lower_mask);
      state_[k] = state_[(k + M) % N] ^ (y >> 1) ^ ((y & 1U) ? matrix_a : 0U);
    }
    index_ = 0;
  }
  std::uint32_t y = state_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

void numpy_shuffle(std::vector<std::int64_t>& values, LegacyMT19937& rng) {
  for (std::size_t i = values.size() > 0 ? values.size() - 1 : 0; i > 0; --i) {
    // random_interval(i): the smallest all-ones mask covering i, then reject draws above i
    // (32-bit draws, since every index here fits).
    std::uint32_t mask = static_cast<std::uint32_t>(i);
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    std::uint32_t j = 0;
    while ((j = rng.next() & mask) > i) {}
    std::swap(values[i], values[j]);
  }
}

std::size_t python_randbelow(LegacyMT19937& rng, std::size_t n) {
  // getrandbits(k) for k <= 32 keeps the top k bits of one output.
  const int bits = std::bit_width(n);
  std::size_t r = 0;
  do {
    r = bits == 0 ? 0 : rng.next() >> (32 - bits);
  } while (r >= n);
  return r;
}

}  // namespace fgreid::datasets
