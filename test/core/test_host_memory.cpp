#include <fgreid/engine/host_memory.hpp>

#include <doctest/doctest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

// A sanitizer's malloc replaces glibc's, whose mallopt it never reaches.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
TEST_CASE("under a sanitizer's malloc keep_freed_host_memory says that nothing changed") {
  CHECK_FALSE(fgreid::engine::keep_freed_host_memory());
}
#else
TEST_CASE("after keep_freed_host_memory a large block comes from the heap and stays there") {
  REQUIRE(fgreid::engine::keep_freed_host_memory());
  constexpr std::size_t kBytes = std::size_t{96} << 20;  // above glibc's largest own threshold
  const auto before = mallinfo2();
  void* block = std::malloc(kBytes);
  REQUIRE(block != nullptr);
  std::memset(block, 1, kBytes);
  const auto during = mallinfo2();
  CHECK(during.hblkhd == before.hblkhd);                 // no mapping of its own,
  CHECK(during.uordblks >= before.uordblks + kBytes);   // but heap space (new or reused)
  std::free(block);
  const auto after = mallinfo2();
  CHECK(after.arena == during.arena);  // not given back to the system
  CHECK(after.fordblks >= kBytes);     // but free for the next iteration's tensors
}
#endif
