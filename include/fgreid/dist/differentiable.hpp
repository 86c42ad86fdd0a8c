#pragma once
// Collectives that autograd can see through, on dist::world(): what SyncBatchNorm and a loss on
// the gathered batch need. In a world of one both are the identity.
#include <torch/torch.h>

namespace fgreid::dist {

/// Every rank's `local` (the same shape on each) concatenated along dim 0, in rank order. Its
/// gradient for a rank's rows is the sum over the ranks of the gradients they computed for those
/// rows: a loss every rank computes on the gathered batch then back-propagates as one process
/// would, once the parameters' gradients are averaged over the ranks.
[[nodiscard]] torch::Tensor all_gather_with_grad(const torch::Tensor& local);

/// The sum over the ranks; its gradient is the sum over the ranks of theirs.
[[nodiscard]] torch::Tensor all_reduce_sum_with_grad(const torch::Tensor& local);

}  // namespace fgreid::dist
