#include "backends.hpp"

#include <fgreid/dist/world.hpp>
#include <fgreid/error.hpp>

#include <c10/core/impl/VirtualGuardImpl.h>
#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>

namespace fgreid::dist {

struct World::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  torch::Device device{torch::kCPU};  ///< where the backend's tensors live
  std::string name;

  /// `tensor` on the backend's device (NCCL reduces CUDA tensors only).
  [[nodiscard]] torch::Tensor on_device(const torch::Tensor& tensor) const {
    return tensor.device() == device ? tensor : tensor.to(device);
  }
};

namespace {

c10::intrusive_ptr<c10d::Store> rendezvous(const Launch& launch, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(launch.master_port);
  options.isServer = launch.rank == 0 && !launch.agent_hosts_store;
  options.numWorkers = static_cast<std::size_t>(launch.world_size);
  options.waitWorkers = false;
  options.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, options);
  } catch (const std::exception& error) {
    throw DataError(fmt::format("rank {}: no rendezvous at MASTER_ADDR:MASTER_PORT {}:{} ({})", launch.rank,
                                launch.master_addr, launch.master_port, error.what()));
  }
  // A restarted attempt meets in the same agent store: its keys get their own prefix.
  return c10::make_intrusive<c10d::PrefixStore>(fmt::format("fgreid/{}/", launch.restart), store);
}

}  // namespace

World World::join(const Launch& launch, engine::DistBackend backend, torch::Device device,
                  std::chrono::seconds timeout) {
  const bool nccl = backend == engine::DistBackend::nccl ||
                    (backend == engine::DistBackend::automatic && device.is_cuda());
  if (nccl && !device.is_cuda())
    throw UsageError("--dist-backend nccl: NCCL reduces CUDA tensors; this run is on the CPU "
                     "(--device cpu, or no GPU): use --dist-backend gloo");
  const std::chrono::milliseconds wait(timeout);
  auto group = std::make_shared<Group>();
  group->store = rendezvous(launch, wait);
  if (nccl) {
    c10::impl::VirtualGuardImpl(device.type()).setDevice(device);
    group->backend = detail::make_nccl(group->store, launch.rank, launch.world_size, wait);
    group->device = device;
    group->name = "nccl";
  } else {
    group->backend = detail::make_gloo(group->store, launch.rank, launch.world_size, wait);
    group->name = "gloo";
  }
  World world;
  world.group_ = std::move(group);
  world.rank_ = launch.rank;
  world.size_ = launch.world_size;
  world.local_rank_ = launch.local_rank;
  return world;
}

std::string World::backend_name() const { return group_ ? group_->name : "none"; }

Pending World::all_reduce_sum_async(torch::Tensor tensor) const {
  if (!group_) return {};
  auto target = group_->on_device(tensor);
  std::vector<torch::Tensor> tensors{target};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  auto work = group_->backend->allreduce(tensors, options);
  return Pending([work, target, tensor]() mutable {
    work->wait();
    if (!target.is_same(tensor)) tensor.copy_(target);
  });
}

void World::broadcast(std::vector<torch::Tensor> tensors) const {
  if (!group_) return;
  c10d::BroadcastOptions options;
  options.rootRank = 0;
  for (auto& tensor : tensors) {  // one at a time: Gloo broadcasts tensors of one size together
    auto target = group_->on_device(tensor);
    std::vector<torch::Tensor> one{target};
    group_->backend->broadcast(one, options)->wait();
    if (!target.is_same(tensor)) tensor.copy_(target);
  }
}

torch::Tensor World::all_gather(const torch::Tensor& local) const {
  if (!group_) return local;
  std::vector<torch::Tensor> input{group_->on_device(local.contiguous())};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int r = 0; r < size_; ++r) output[0].push_back(torch::empty_like(input[0]));
  group_->backend->allgather(output, input)->wait();
  return torch::cat(output[0]).to(local.device());
}

namespace {
const std::string kStopKey = "stop_after";

std::int64_t iteration_in(const std::vector<std::uint8_t>& bytes) {
  return std::stoll(std::string(bytes.begin(), bytes.end()));
}
}  // namespace

std::int64_t World::propose_stop(std::int64_t iteration) const {
  if (!group_) return iteration;
  const auto text = std::to_string(iteration + 1);
  return iteration_in(group_->store->compareSet(kStopKey, {}, std::vector<std::uint8_t>(text.begin(), text.end())));
}

std::int64_t World::agreed_stop() const {
  if (!group_ || !group_->store->check({kStopKey})) return -1;
  return iteration_in(group_->store->get(kStopKey));
}

namespace {
/// Rank `rank`'s block of `count` items over `size` ranks (World::share).
std::pair<std::int64_t, std::int64_t> block(std::int64_t rank, std::int64_t size, std::int64_t count) {
  const std::int64_t base = count / size, extra = count % size;
  const std::int64_t begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}
}  // namespace

std::pair<std::int64_t, std::int64_t> World::share(std::int64_t count) const { return block(rank_, size_, count); }

torch::Tensor World::gather_shares(const torch::Tensor& local, std::int64_t count) const {
  if (!group_) return local;
  const std::int64_t rows = (count + size_ - 1) / size_;
  auto sizes = local.sizes().vec();
  sizes[0] = rows;
  auto padded = torch::zeros(sizes, local.options());
  padded.narrow(0, 0, local.size(0)).copy_(local);
  const auto all = all_gather(padded);
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size_; ++r) {
    const auto [begin, end] = block(r, size_, count);
    parts.push_back(all.narrow(0, r * rows, end - begin));
  }
  return torch::cat(parts);
}

namespace {
World& the_world() {
  static World world;
  return world;
}
}  // namespace

const World& world() { return the_world(); }
void set_world(World world) { the_world() = std::move(world); }

}  // namespace fgreid::dist
