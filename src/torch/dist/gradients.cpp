#include <fgreid/dist/differentiable.hpp>
#include <fgreid/dist/gradients.hpp>

namespace fgreid::dist {

GradientAverager::GradientAverager(const World& world, std::vector<torch::Tensor> parameters,
                                   std::int64_t bucket_bytes)
    : world_(world) {
  std::vector<torch::Tensor> trained;
  for (auto& parameter : parameters)
    if (parameter.requires_grad()) trained.push_back(parameter);
  // Reverse order, and a new bucket whenever the current one would pass bucket_bytes.
  std::int64_t bytes = 0;
  std::vector<std::vector<std::size_t>> members(1);
  for (auto it = trained.rbegin(); it != trained.rend(); ++it) {
    const auto size = it->numel() * static_cast<std::int64_t>(sizeof(float));
    if (!members.back().empty() && bytes + size > bucket_bytes) {
      members.emplace_back();
      bytes = 0;
    }
    members.back().push_back(slots_.size());
    slots_.push_back(Slot{*it, 0, members.size() - 1, false});
    bytes += size;
  }
  for (const auto& slots : members) {
    if (slots.empty()) continue;
    Bucket bucket;
    std::int64_t length = 0;
    for (const auto index : slots) {
      slots_[index].offset = length;
      length += slots_[index].parameter.numel();
    }
    const auto& first = slots_[slots.front()].parameter;
    bucket.values = torch::zeros({length + static_cast<std::int64_t>(slots.size())},
                                 first.options().dtype(torch::kFloat).requires_grad(false));
    bucket.slots = slots;
    buckets_.push_back(std::move(bucket));
  }
  for (std::size_t index = 0; index < slots_.size(); ++index)
    hooks_.push_back(slots_[index].parameter.register_hook([this, index](torch::Tensor gradient) {
      receive(index, gradient);
      return torch::Tensor();
    }));
}

GradientAverager::~GradientAverager() {
  for (std::size_t index = 0; index < slots_.size(); ++index) slots_[index].parameter.remove_hook(hooks_[index]);
}

void GradientAverager::receive(std::size_t index, const torch::Tensor& gradient) {
  auto& slot = slots_[index];
  auto& bucket = buckets_[slot.bucket];
  if (!in_backward_) {
    in_backward_ = true;
    traffic_ = {};
  }
  torch::NoGradGuard no_grad;
  bucket.values.narrow(0, slot.offset, slot.parameter.numel()).view_as(slot.parameter).copy_(gradient);
  if (!slot.has_gradient) {
    slot.has_gradient = true;
    ++bucket.filled;
  }
  if (bucket.filled == bucket.slots.size()) launch_ready();
}

void GradientAverager::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].filled == buckets_[next_launch_].slots.size()) {
    launch(buckets_[next_launch_]);
    ++traffic_.launched_during_backward;
    ++next_launch_;
  }
}

void GradientAverager::launch(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  const auto flags_at = bucket.values.numel() - static_cast<std::int64_t>(bucket.slots.size());
  for (std::size_t i = 0; i < bucket.slots.size(); ++i) {
    const auto& slot = slots_[bucket.slots[i]];
    bucket.values[flags_at + static_cast<std::int64_t>(i)].fill_(slot.has_gradient ? 1.0 : 0.0);
    if (!slot.has_gradient) bucket.values.narrow(0, slot.offset, slot.parameter.numel()).zero_();
  }
  bucket.pending = world_.all_reduce_sum_async(bucket.values);
  traffic_.bytes += bucket.values.numel() * static_cast<std::int64_t>(sizeof(float));
  ++traffic_.buckets;
}

void GradientAverager::finish() {
  if (!in_backward_) traffic_ = {};
  while (next_launch_ < buckets_.size()) launch(buckets_[next_launch_++]);
  torch::NoGradGuard no_grad;
  const double ranks = world_.size();
  for (auto& bucket : buckets_) {
    bucket.pending.wait();
    const auto flags_at = bucket.values.numel() - static_cast<std::int64_t>(bucket.slots.size());
    const auto flags = bucket.values.narrow(0, flags_at, static_cast<std::int64_t>(bucket.slots.size())).cpu();
    bucket.values.narrow(0, 0, flags_at).div_(ranks);
    for (std::size_t i = 0; i < bucket.slots.size(); ++i) {
      auto& slot = slots_[bucket.slots[i]];
      auto& gradient = slot.parameter.mutable_grad();
      if (flags[static_cast<std::int64_t>(i)].item<float>() > 0)
        gradient = bucket.values.narrow(0, slot.offset, slot.parameter.numel()).view_as(slot.parameter).clone();
      else
        gradient = torch::Tensor();
      slot.has_gradient = false;
    }
    bucket.filled = 0;
  }
  next_launch_ = 0;
  in_backward_ = false;
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct AllGather : torch::autograd::Function<AllGather> {
  static torch::Tensor forward(AutogradContext* context, const torch::Tensor& local) {
    context->saved_data["rows"] = local.size(0);
    return world().all_gather(local);
  }
  static variable_list backward(AutogradContext* context, variable_list gradients) {
    const auto rows = context->saved_data["rows"].toInt();
    auto summed = gradients[0].contiguous().clone();
    world().all_reduce_sum(summed);
    return {summed.narrow(0, world().rank() * rows, rows)};
  }
};

struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(AutogradContext*, const torch::Tensor& local) {
    auto summed = local.clone();
    world().all_reduce_sum(summed);
    return summed;
  }
  static variable_list backward(AutogradContext*, variable_list gradients) {
    auto summed = gradients[0].contiguous().clone();
    world().all_reduce_sum(summed);
    return {summed};
  }
};

}  // namespace

torch::Tensor all_gather_with_grad(const torch::Tensor& local) {
  if (!world().distributed()) return local;
  return AllGather::apply(local);
}

torch::Tensor all_reduce_sum_with_grad(const torch::Tensor& local) {
  if (!world().distributed()) return local;
  return AllReduceSum::apply(local);
}

}  // namespace fgreid::dist
