// Compiled with USE_C10D_GLOO where the build found Gloo's headers (CMakeLists.txt):
// ProcessGroupGloo.hpp declares the class only then.
#include "backends.hpp"

#include <fgreid/error.hpp>

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <cstdlib>

namespace fgreid::dist::detail {

c10::intrusive_ptr<c10d::Backend> make_gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                            int size, std::chrono::milliseconds timeout) {
#ifdef USE_C10D_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // The address this machine's hostname resolves to, or the loopback (c10d's default device),
  // as torch.distributed picks it; GLOO_SOCKET_IFNAME names an interface instead.
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface != nullptr && *interface != 0)
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  else
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
#else
  (void)store, (void)rank, (void)size, (void)timeout;
  throw UsageError("--dist-backend gloo: this build of fgreid has no Gloo (gloo/algorithm.h was not "
                   "found at configure time: apt-get install libgloo-dev, then rebuild)");
#endif
}

}  // namespace fgreid::dist::detail
