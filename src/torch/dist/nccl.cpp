// Compiled with USE_C10D_NCCL where the build found NCCL's header (CMakeLists.txt).
#include "backends.hpp"

#include <fgreid/error.hpp>

#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace fgreid::dist::detail {

c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                            int size, std::chrono::milliseconds timeout) {
#ifdef USE_C10D_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#else
  (void)store, (void)rank, (void)size, (void)timeout;
  throw UsageError("--dist-backend nccl: this build of fgreid has no NCCL (nccl.h was not found "
                   "at configure time); use --dist-backend gloo");
#endif
}

}  // namespace fgreid::dist::detail
