#include <fgreid/engine/host_memory.hpp>

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

namespace fgreid::engine {

bool keep_freed_host_memory() {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
  constexpr int kOneGiB = 1 << 30;
  constexpr int kNever = -1;  // mallopt(3): -1 disables trimming
  return mallopt(M_MMAP_THRESHOLD, kOneGiB) == 1 && mallopt(M_TRIM_THRESHOLD, kNever) == 1;
#else
  return false;
#endif
}

}  // namespace fgreid::engine
