// The weights reader behind --pretrained, --init-weights and checkpoints: read_state_dict
// (a torch.save zip pickle through detail::load_tensor_dict, or a TorchScript archive).
#include <fgreid/models/weights.hpp>

#include "torch_archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = fgreid::fuzz::torch_file("weights.pt", data, size);
  fgreid::fuzz::expect_clean_errors([&] { (void)fgreid::models::read_state_dict(file); });
  return 0;
}
