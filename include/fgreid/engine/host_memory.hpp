#pragma once
// How freed host memory is kept for the next iteration.
//
// LibTorch's CPU allocator passes every tensor to malloc and free. glibc serves blocks above
// its mmap threshold (128 KiB, growing to at most 32 MiB) with fresh mappings and unmaps them
// at free(), so each training iteration at 256×128 × 64 faults its activations in again page
// by page: measured, 40 % of a CPU step's time was spent in the kernel doing so.

namespace fgreid::engine {

/// Makes malloc serve blocks of up to 1 GiB from its heap and keep freed memory there for
/// reuse instead of returning it to the system. Call once, before the threads start; resident
/// memory then stays near the run's peak. Returns false where the C library refuses (a
/// non-glibc libc), in which case nothing changed.
bool keep_freed_host_memory();

}  // namespace fgreid::engine
