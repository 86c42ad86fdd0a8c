#include <fgreid/eval/rerank.hpp>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

namespace fgreid::eval {

// --- DenseRerankSource ----------------------------------------------------------------------

DenseRerankSource::DenseRerankSource(std::span<const float> query_gallery,
                                     std::span<const float> query_query,
                                     std::span<const float> gallery_gallery,
                                     std::size_t num_query, std::size_t num_gallery, bool square,
                                     bool symmetric)
    : query_gallery_(query_gallery),
      query_query_(query_query),
      gallery_gallery_(gallery_gallery),
      num_query_(num_query),
      num_gallery_(num_gallery),
      square_(square),
      symmetric_(symmetric) {
  if (query_gallery.size() != num_query * num_gallery ||
      query_query.size() != num_query * num_query ||
      gallery_gallery.size() != num_gallery * num_gallery)
    throw std::invalid_argument(fmt::format(
        "DenseRerankSource: {}, {} and {} distances do not fit {} queries and {} gallery items",
        query_gallery.size(), query_query.size(), gallery_gallery.size(), num_query,
        num_gallery));
}

float DenseRerankSource::at(std::size_t i, std::size_t j) const {
  const std::size_t nq = num_query_, ng = num_gallery_;
  if (j < nq) return i < nq ? query_query_[j * nq + i] : query_gallery_[j * ng + (i - nq)];
  // Row j lies in [qgᵀ, gg]: qgᵀ[j − nq][i] = qg[i][j − nq].
  return i < nq ? query_gallery_[i * ng + (j - nq)] : gallery_gallery_[(j - nq) * ng + (i - nq)];
}

void DenseRerankSource::columns(std::size_t begin, std::size_t end, std::size_t first_row,
                                std::span<float> out) const {
  const std::size_t nq = num_query_, ng = num_gallery_, n = nq + ng, width = n - first_row;
  // Rows j of M outer and columns i inner wherever M is read along a row, so a block of
  // columns reads each matrix row's few consecutive floats once.
  for (std::size_t j = first_row; j < n; ++j) {
    for (std::size_t i = begin; i < end; ++i) {
      if (j >= nq && i < nq) continue;  // the qgᵀ block: read along qg's rows below
      out[(i - begin) * width + j - first_row] =
          j < nq ? (i < nq ? query_query_[j * nq + i] : query_gallery_[j * ng + (i - nq)])
                 : gallery_gallery_[(j - nq) * ng + (i - nq)];
    }
  }
  const std::size_t from = std::max(nq, first_row);
  for (std::size_t i = begin; i < std::min(end, nq); ++i) {
    const float* row = query_gallery_.data() + i * ng + (from - nq);
    std::copy(row, row + (n - from),
              out.begin() + static_cast<std::ptrdiff_t>((i - begin) * width + from - first_row));
  }
}

// --- rerank ---------------------------------------------------------------------------------

namespace {

/// numpy's float32 sum (add.reduce): a pairwise sum with 8 accumulators on blocks of up to
/// 128 values. Reproduced so that V's normalisation rounds as the reference's does.
float numpy_pairwise_sum(const float* a, std::size_t n) {
  if (n < 8) {
    float sum = 0.0f;  // numpy starts from -0.0 here; the same for any positive term
    for (std::size_t k = 0; k < n; ++k) sum += a[k];
    return sum;
  }
  if (n <= 128) {
    float r[8];
    for (int k = 0; k < 8; ++k) r[k] = a[k];
    std::size_t k = 8;
    for (; k < n - (n % 8); k += 8)
      for (int m = 0; m < 8; ++m) r[m] += a[k + m];
    float sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; k < n; ++k) sum += a[k];
    return sum;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return numpy_pairwise_sum(a, half) + numpy_pairwise_sum(a + half, n - half);
}

struct SparseEntry {
  std::uint32_t index;
  float value;
};
using SparseRow = std::vector<SparseEntry>;

/// Everything pass 1 learns about one item: its nearest neighbours (ties by index, as a
/// stable sort gives) and the maximum its column is normalised by.
struct Neighbours {
  std::vector<std::uint32_t> lists;  ///< N × width
  std::vector<float> values;         ///< N × width: the normalised distances of `lists`
  std::vector<float> column_max;     ///< N
  std::size_t width = 0;
  /// The `count` nearest of item i, fewer when there are fewer items (as a slice gives).
  [[nodiscard]] std::span<const std::uint32_t> of(std::size_t i, std::size_t count) const {
    return {lists.data() + i * width, std::min(count, width)};
  }
};

/// The base value as the reference's normalisation sees it: squared for Euclidean input, and
/// never below 0 (a distance computed from a product can round to just under it).
inline float base_value(float distance, bool square) {
  return square ? distance * distance : std::max(distance, 0.0f);
}

/// Offers item `j` at `value` to an ascending list of at most `width` entries holding `count`:
/// it enters when smaller than the last (never as NaN), after the equal values already there,
/// so equal values keep the order they were offered in.
inline void offer(std::uint32_t* best, float* best_value, std::uint32_t& count, std::size_t width,
                  std::uint32_t j, float value) {
  if (count == width && !(value < best_value[width - 1])) return;
  std::size_t at = count < width ? count++ : width - 1;
  while (at > 0 && value < best_value[at - 1]) {
    best_value[at] = best_value[at - 1];
    best[at] = best[at - 1];
    --at;
  }
  best_value[at] = value;
  best[at] = j;
}

/// What a value must stay below to enter a list of `capacity` entries holding `count`: its last
/// value once full; NaN before, which every comparison below admits through `!(v >= t)`.
inline float admission_threshold(const float* list_values, std::uint32_t count,
                                 std::size_t capacity) {
  return count == capacity ? list_values[capacity - 1] : std::numeric_limits<float>::quiet_NaN();
}

/// Pass 1 for any source: streams every column of M a block at a time, normalises it, keeps the
/// `width` nearest of each item, and writes the query rows' gallery part to `original`
/// (Nq × Ng). Items are offered in index order, so equal values keep index order.
Neighbours nearest_neighbours_streamed(const RerankSource& source, std::size_t width,
                                       std::span<float> original) {
  const std::size_t nq = source.num_query(), ng = source.num_gallery(), n = nq + ng;
  const bool square = source.square();
  Neighbours result;
  result.width = width;
  result.lists.resize(n * width);
  result.values.resize(n * width);
  result.column_max.resize(n);
  const std::size_t block_columns = std::max<std::size_t>(1, source.preferred_block());
  tbb::enumerable_thread_specific<std::vector<float>> buffers(
      [&] { return std::vector<float>(block_columns * n); });
  const std::size_t blocks = (n + block_columns - 1) / block_columns;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1),
                    [&](const tbb::blocked_range<std::size_t>& range) {
    auto& buffer = buffers.local();
    for (std::size_t block = range.begin(); block != range.end(); ++block) {
      const std::size_t first = block * block_columns;
      const std::size_t last = std::min(n, first + block_columns);
      source.columns(first, last, 0, std::span<float>(buffer.data(), (last - first) * n));
      for (std::size_t i = first; i < last; ++i) {
        float* row = buffer.data() + (i - first) * n;
        float maximum = -std::numeric_limits<float>::infinity();
        for (std::size_t j = 0; j < n; ++j) {
          row[j] = base_value(row[j], square);
          maximum = std::max(maximum, row[j]);
        }
        for (std::size_t j = 0; j < n; ++j) row[j] /= maximum;
        result.column_max[i] = maximum;
        std::uint32_t count = 0;
        for (std::size_t j = 0; j < n; ++j)
          offer(result.lists.data() + i * width, result.values.data() + i * width, count, width,
                static_cast<std::uint32_t>(j), row[j]);
        if (i < nq) std::copy(row + nq, row + n, original.begin() + static_cast<std::ptrdiff_t>(i * ng));
      }
    }
  });
  return result;
}

/// Pass 1 for a symmetric source, reading only M's upper triangle: stripe by stripe of rows
/// [s, e), the block M[s..e)[s..N) serves twice, as rows for items s..e and as columns for
/// items e..N. Every item is offered its neighbours in index order (columns of earlier stripes
/// first, then its own row), so equal values keep index order as in the streamed pass.
/// Neighbours are collected by base value with one spare, and ranked by normalised value once
/// the maxima are known; should the division make the last kept value equal the spare's, the
/// item's full column is read again so that the tie is resolved as the reference resolves it.
Neighbours nearest_neighbours_symmetric(const RerankSource& source, std::size_t width,
                                        std::span<float> original) {
  const std::size_t nq = source.num_query(), ng = source.num_gallery(), n = nq + ng;
  const bool square = source.square();
  const std::size_t capacity = std::min(width + 1, n);
  std::vector<std::uint32_t> lists(n * capacity), counts(n, 0);
  std::vector<float> values(n * capacity);
  std::vector<float> maximum(n, -std::numeric_limits<float>::infinity());
  const std::size_t stripe = std::max<std::size_t>(1, source.preferred_block());
  constexpr std::size_t kColumnChunk = 64;
  std::vector<float> block(stripe * n);

  for (std::size_t s = 0; s < n; s += stripe) {
    const std::size_t e = std::min(n, s + stripe), row_length = n - s;
    source.columns(s, e, s, std::span<float>(block.data(), (e - s) * row_length));
    // Units: one per row of the stripe, then one per chunk of later columns; no two touch the
    // same item, and none writes to the block.
    const std::size_t row_units = e - s;
    const std::size_t units = row_units + (n - e + kColumnChunk - 1) / kColumnChunk;
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, units, 1),
                      [&](const tbb::blocked_range<std::size_t>& range) {
      for (std::size_t unit = range.begin(); unit != range.end(); ++unit) {
        if (unit < row_units) {
          const std::size_t i = s + unit;
          const float* row = block.data() + unit * row_length;
          std::uint32_t* list = lists.data() + i * capacity;
          float* list_values = values.data() + i * capacity;
          // Chunks of 16 whose test, which rejects most values, and per-lane maxima vectorise.
          constexpr std::size_t kLanes = 16;
          std::array<float, kLanes> top;
          top.fill(maximum[i]);
          float admit_below = admission_threshold(list_values, counts[i], capacity);
          std::size_t j_begin = s;
          for (; j_begin + kLanes <= n; j_begin += kLanes) {
            const float* chunk = row + (j_begin - s);
            bool any = false;
            for (std::size_t k = 0; k < kLanes; ++k) {
              const float value = base_value(chunk[k], square);
              top[k] = std::max(top[k], value);
              any |= !(value >= admit_below);
            }
            if (!any) continue;
            for (std::size_t k = 0; k < kLanes; ++k)
              if (!(base_value(chunk[k], square) >= admit_below))
                offer(list, list_values, counts[i], capacity,
                      static_cast<std::uint32_t>(j_begin + k), base_value(chunk[k], square));
            admit_below = admission_threshold(list_values, counts[i], capacity);
          }
          for (std::size_t j = j_begin; j < n; ++j) {
            const float value = base_value(row[j - s], square);
            top[0] = std::max(top[0], value);
            offer(list, list_values, counts[i], capacity, static_cast<std::uint32_t>(j), value);
          }
          maximum[i] = *std::ranges::max_element(top);
          if (i < nq)  // s <= i < nq: the row holds every gallery item
            for (std::size_t g = 0; g < ng; ++g)
              original[i * ng + g] = base_value(row[nq + g - s], square);
        } else {
          const std::size_t j_begin = e + (unit - row_units) * kColumnChunk;
          const std::size_t j_end = std::min(n, j_begin + kColumnChunk), width_j = j_end - j_begin;
          // The chunk's maxima and admission thresholds, kept local so the scan vectorises.
          std::array<float, kColumnChunk> top{}, threshold{};
          for (std::size_t k = 0; k < width_j; ++k) {
            const std::size_t j = j_begin + k;
            top[k] = maximum[j];
            threshold[k] = admission_threshold(values.data() + j * capacity, counts[j], capacity);
          }
          for (std::size_t i = s; i < e; ++i) {
            const float* row = block.data() + (i - s) * row_length + (j_begin - s);
            bool any = false;
            for (std::size_t k = 0; k < width_j; ++k) {
              const float value = base_value(row[k], square);
              top[k] = std::max(top[k], value);
              any |= !(value >= threshold[k]);
            }
            if (!any) continue;
            for (std::size_t k = 0; k < width_j; ++k) {
              const std::size_t j = j_begin + k;
              if (base_value(row[k], square) >= threshold[k]) continue;
              offer(lists.data() + j * capacity, values.data() + j * capacity, counts[j],
                    capacity, static_cast<std::uint32_t>(i), base_value(row[k], square));
              threshold[k] = admission_threshold(values.data() + j * capacity, counts[j], capacity);
            }
          }
          for (std::size_t k = 0; k < width_j; ++k) maximum[j_begin + k] = top[k];
        }
      }
    });
  }
  Neighbours result;
  result.width = width;
  result.lists.resize(n * width);
  result.values.resize(n * width);
  result.column_max = std::move(maximum);
  tbb::enumerable_thread_specific<std::vector<float>> columns(
      [&] { return std::vector<float>(n); });
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 256),
                    [&](const tbb::blocked_range<std::size_t>& range) {
    std::vector<std::pair<float, std::uint32_t>> ranked;
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      const float scale = result.column_max[i];
      ranked.clear();
      for (std::size_t k = 0; k < counts[i]; ++k)
        ranked.emplace_back(values[i * capacity + k] / scale, lists[i * capacity + k]);
      std::ranges::sort(ranked);  // by normalised value, then index
      std::uint32_t* best = result.lists.data() + i * width;
      float* best_value = result.values.data() + i * width;
      if (capacity > width && ranked.size() == capacity &&
          ranked[capacity - 1].first == ranked[width - 1].first) {
        auto& column = columns.local();
        source.columns(i, i + 1, 0, column);
        std::uint32_t count = 0;
        for (std::size_t j = 0; j < n; ++j)
          offer(best, best_value, count, width, static_cast<std::uint32_t>(j),
                base_value(column[j], square) / scale);
        continue;
      }
      for (std::size_t k = 0; k < std::min(width, ranked.size()); ++k) {
        best_value[k] = ranked[k].first;
        best[k] = ranked[k].second;
      }
    }
  });
  tbb::parallel_for(std::size_t{0}, nq, [&](std::size_t i) {
    const float scale = result.column_max[i];
    for (std::size_t g = 0; g < ng; ++g) original[i * ng + g] /= scale;
  });
  return result;
}

/// The k-reciprocal neighbours of i: its k+1 nearest whose own k+1 nearest include i, in
/// i's neighbour order.
void k_reciprocal(const Neighbours& neighbours, std::size_t i, std::size_t k,
                  std::vector<std::uint32_t>& out) {
  out.clear();
  for (const std::uint32_t j : neighbours.of(i, k + 1)) {
    const auto back = neighbours.of(j, k + 1);
    if (std::find(back.begin(), back.end(), static_cast<std::uint32_t>(i)) != back.end())
      out.push_back(j);
  }
}

struct ExpansionScratch {
  std::vector<std::uint32_t> reciprocal, candidate, expansion, sorted_reciprocal;
  std::vector<float> weights;
};

/// Pass 2: row i of V, the Gaussian-weighted indicator of i's expanded k-reciprocal set.
SparseRow v_row(const RerankSource& source, const Neighbours& neighbours, std::size_t i,
                std::size_t k1, ExpansionScratch& s) {
  const std::size_t half_k1 = static_cast<std::size_t>(std::nearbyint(k1 / 2.0));  // np.around
  k_reciprocal(neighbours, i, k1, s.reciprocal);
  s.expansion = s.reciprocal;
  s.sorted_reciprocal = s.reciprocal;
  std::ranges::sort(s.sorted_reciprocal);
  for (const std::uint32_t candidate : s.reciprocal) {
    k_reciprocal(neighbours, candidate, half_k1, s.candidate);
    std::size_t shared = 0;
    for (const std::uint32_t j : s.candidate)
      shared += std::ranges::binary_search(s.sorted_reciprocal, j) ? 1 : 0;
    if (static_cast<double>(shared) > 2.0 / 3 * static_cast<double>(s.candidate.size()))
      s.expansion.insert(s.expansion.end(), s.candidate.begin(), s.candidate.end());
  }
  std::ranges::sort(s.expansion);
  s.expansion.erase(std::unique(s.expansion.begin(), s.expansion.end()), s.expansion.end());

  const bool square = source.square();
  s.weights.resize(s.expansion.size());
  const auto near = neighbours.of(i, neighbours.width);
  for (std::size_t k = 0; k < s.expansion.size(); ++k) {
    // Most of the set are i's own nearest, whose values pass 1 kept; the rest are looked up.
    const auto found = std::ranges::find(near, s.expansion[k]);
    const float normalised =
        found != near.end()
            ? neighbours.values[i * neighbours.width + static_cast<std::size_t>(found - near.begin())]
            : base_value(source.at(i, s.expansion[k]), square) / neighbours.column_max[i];
    s.weights[k] = std::exp(-normalised);
  }
  const float total = numpy_pairwise_sum(s.weights.data(), s.weights.size());
  SparseRow row(s.expansion.size());
  for (std::size_t k = 0; k < row.size(); ++k) row[k] = {s.expansion[k], s.weights[k] / total};
  return row;
}

/// A dense accumulator over N columns that remembers which it touched, so clearing it costs
/// what filling it did.
struct Accumulator {
  explicit Accumulator(std::size_t n) : values(n, 0.0f), touched_flag(n, 0) {}
  std::vector<float> values;
  std::vector<std::uint8_t> touched_flag;
  std::vector<std::uint32_t> touched;
  void add(std::uint32_t index, float value) {
    if (!touched_flag[index]) {
      touched_flag[index] = 1;
      touched.push_back(index);
    }
    values[index] += value;
  }
  void clear() {
    for (const std::uint32_t index : touched) {
      values[index] = 0.0f;
      touched_flag[index] = 0;
    }
    touched.clear();
  }
};

}  // namespace

std::vector<float> rerank(const RerankSource& source, const RerankOptions& options) {
  const std::size_t nq = source.num_query(), ng = source.num_gallery(), n = nq + ng;
  if (options.k1 < 1 || options.k2 < 1 || options.k2 > options.k1 + 1 || options.k1 > 1000)
    throw std::invalid_argument(fmt::format(
        "rerank: k1 {} and k2 {} must satisfy 1 <= k2 <= k1 + 1 and 1 <= k1 <= 1000", options.k1,
        options.k2));
  if (!(options.lambda >= 0 && options.lambda <= 1))
    throw std::invalid_argument(fmt::format("rerank: lambda {} is not in [0, 1]", options.lambda));
  if (nq == 0 || ng == 0) throw std::invalid_argument("rerank: no queries or no gallery items");
  if (n > std::numeric_limits<std::uint32_t>::max())
    throw std::invalid_argument("rerank: more than 2^32 items");
  const auto k1 = static_cast<std::size_t>(options.k1);
  const auto k2 = static_cast<std::size_t>(options.k2);

  // Pass 1: neighbour lists (k1 + 1 of them also cover the k2 of query expansion), and the
  // normalised query × gallery distances, kept in what becomes the result.
  std::vector<float> result(nq * ng);
  const std::size_t width = std::min(k1 + 1, n);
  const Neighbours neighbours = source.symmetric()
                                    ? nearest_neighbours_symmetric(source, width, result)
                                    : nearest_neighbours_streamed(source, width, result);

  // Pass 2: V, sparse.
  std::vector<SparseRow> v(n);
  tbb::enumerable_thread_specific<ExpansionScratch> scratch;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 64),
                    [&](const tbb::blocked_range<std::size_t>& range) {
    auto& s = scratch.local();
    for (std::size_t i = range.begin(); i != range.end(); ++i)
      v[i] = v_row(source, neighbours, i, k1, s);
  });

  // Local query expansion: V_qe[i] = mean of V over i's k2 nearest, summed in their order
  // in float32 as numpy's reduction over axis 0 does.
  std::vector<SparseRow> v_qe;
  if (k2 == 1) {
    v_qe = std::move(v);
  } else {
    v_qe.resize(n);
    tbb::enumerable_thread_specific<Accumulator> accumulators([&] { return Accumulator(n); });
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 64),
                      [&](const tbb::blocked_range<std::size_t>& range) {
      auto& sum = accumulators.local();
      for (std::size_t i = range.begin(); i != range.end(); ++i) {
        for (const std::uint32_t r : neighbours.of(i, k2))
          for (const SparseEntry& e : v[r]) sum.add(e.index, e.value);
        std::ranges::sort(sum.touched);
        SparseRow& row = v_qe[i];
        row.reserve(sum.touched.size());
        for (const std::uint32_t c : sum.touched)
          row.push_back({c, static_cast<float>(static_cast<double>(sum.values[c]) /
                                               static_cast<double>(k2))});
        sum.clear();
      }
    });
    std::vector<SparseRow>().swap(v);
  }

  // Inverted index over the gallery rows of V_qe: column -> (gallery row, value), CSR.
  std::vector<std::size_t> column_start(n + 1, 0);
  for (std::size_t r = nq; r < n; ++r)
    for (const SparseEntry& e : v_qe[r]) ++column_start[e.index + 1];
  for (std::size_t c = 0; c < n; ++c) column_start[c + 1] += column_start[c];
  std::vector<SparseEntry> inverted(column_start[n]);
  {
    std::vector<std::size_t> fill(column_start.begin(), column_start.end() - 1);
    for (std::size_t r = nq; r < n; ++r)  // ascending rows, as np.where lists them
      for (const SparseEntry& e : v_qe[r])
        inverted[fill[e.index]++] = {static_cast<std::uint32_t>(r - nq), e.value};
  }

  // Final: Jaccard through the inverted index, joined with the normalised original.
  const auto jaccard_weight = static_cast<float>(1 - options.lambda);
  const auto original_weight = static_cast<float>(options.lambda);
  tbb::enumerable_thread_specific<std::vector<float>> minima([&] { return std::vector<float>(ng); });
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nq, 16),
                    [&](const tbb::blocked_range<std::size_t>& range) {
    auto& temp_min = minima.local();
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      std::fill(temp_min.begin(), temp_min.end(), 0.0f);
      for (const SparseEntry& e : v_qe[i])
        for (std::size_t k = column_start[e.index]; k < column_start[e.index + 1]; ++k)
          temp_min[inverted[k].index] += std::min(e.value, inverted[k].value);
      float* out = result.data() + i * ng;
      for (std::size_t g = 0; g < ng; ++g) {
        const float jaccard = 1.0f - temp_min[g] / (2.0f - temp_min[g]);
        out[g] = jaccard * jaccard_weight + out[g] * original_weight;
      }
    }
  });
  return result;
}

}  // namespace fgreid::eval
