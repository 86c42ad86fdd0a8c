// The FGReID seed's loss terms: cosine batch-hard triplet, center loss, OSM + CAA, identity
// variance and the satisfied-rank / KL-consistency pair.
#include <fgreid/losses/center.hpp>
#include <fgreid/losses/cosine_triplet.hpp>
#include <fgreid/losses/osm_caa.hpp>
#include <fgreid/losses/seed_terms.hpp>

#include <limits>

namespace fgreid::losses {

namespace {

namespace F = torch::nn::functional;

/// Losses compute in float32 at least (half embeddings under autocast), double stays double.
torch::Tensor at_least_float(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? t : t.to(torch::kFloat);
}

torch::Tensor l2_normalised_rows(const torch::Tensor& x) {
  return F::normalize(x, F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12));
}

/// Same-identity mask [B, B].
torch::Tensor same_identity(const torch::Tensor& labels) {
  return labels.unsqueeze(0) == labels.unsqueeze(1);
}

/// Moves a shared leaf tensor to `device` without changing its handle, so every holder of the
/// handle (an optimiser, OsmCaa) sees the moved data.
void move_in_place(const torch::Tensor& tensor, torch::Device device) {
  if (tensor.device() != device) tensor.set_data(tensor.data().to(device));
}

}  // namespace

// --- cosine triplet ---------------------------------------------------------------------------

LossResult CosineTriplet::operator()(const models::TrainOutput& output,
                                     const torch::Tensor& labels) const {
  auto x = at_least_float(output.embedding);
  auto norms = x.norm(2, 1, /*keepdim=*/true);
  auto similarity = x.matmul(x.t()) / (norms * norms.t());
  auto same = same_identity(labels);
  const double inf = std::numeric_limits<double>::infinity();
  // max/min with indices send the gradient to one pair, as the seed's sort does.
  auto positive = std::get<0>(similarity.masked_fill(same.logical_not(), inf).min(1));
  auto negative = std::get<0>(similarity.masked_fill(same, -inf).max(1));
  auto value = torch::relu(negative - positive + options_.cosine_margin).mean();
  return {(1.0 - options_.beta_ratio) * value, {{"cos_triplet", value}}};
}

// --- center loss ------------------------------------------------------------------------------

CenterLoss::CenterLoss(Options options, const LossContext& context) : options_(options) {
  TORCH_CHECK(context.num_classes > 0 && context.feature_dim > 0,
              "CenterLoss needs the class count and feature size (LossContext), got ",
              context.num_classes, " x ", context.feature_dim);
  centers_ = torch::randn({context.num_classes, context.feature_dim}).requires_grad_(true);
}

LossResult CenterLoss::operator()(const models::TrainOutput& output,
                                  const torch::Tensor& labels) const {
  auto f = at_least_float(output.embedding);
  move_in_place(centers_, f.device());
  TORCH_CHECK(f.size(1) == centers_.size(1), "CenterLoss: the embedding has ", f.size(1),
              " dimensions but the centers ", centers_.size(1));
  auto own_centers = centers_.index_select(0, labels).to(f.scalar_type());
  auto value = (f - own_centers).pow(2).sum(1).clamp(1e-12, 1e12).sum() /
               static_cast<double>(f.size(0));
  return {options_.center_weight * value, {{"center", value}}};
}

double CenterLoss::gradient_scale() const {
  if (!options_.center_rescale_gradient || options_.center_weight == 0.0) return 1.0;
  return 1.0 / options_.center_weight;
}

void CenterLoss::step() {
  torch::NoGradGuard no_grad;
  auto& gradient = centers_.mutable_grad();
  if (!gradient.defined()) return;
  centers_.sub_(gradient, options_.center_lr * gradient_scale());
  gradient.zero_();
}

void CenterLoss::to(torch::Device device) { move_in_place(centers_, device); }

void CenterLoss::set_centers(const torch::Tensor& values) {
  TORCH_CHECK(values.sizes() == centers_.sizes(), "CenterLoss::set_centers: expected ",
              centers_.sizes(), ", got ", values.sizes());
  centers_.set_data(values.detach().clone());
}

// --- OSM + CAA --------------------------------------------------------------------------------

LossResult OsmCaa::operator()(const models::TrainOutput& output,
                              const torch::Tensor& labels) const {
  TORCH_CHECK(centers_.defined(),
              "OsmCaa has no class centers: compose it with losses::CenterLoss in one "
              "losses::Losses<...> (which links them) or call use_centers()");
  auto x = l2_normalised_rows(at_least_float(output.embedding));
  move_in_place(centers_, x.device());
  const auto n = x.size(0);

  auto squared = x.pow(2).sum(1, /*keepdim=*/true);
  auto d = (squared + squared.t() - 2.0 * x.matmul(x.t())).clamp_min(1e-12).sqrt();
  auto same = same_identity(labels).to(x.scalar_type());
  auto different = 1.0 - same;
  auto off_diagonal = 1.0 - torch::eye(n, x.options());

  const double sigma = options_.osm_sigma;
  auto positive_similarity = torch::exp(-d.pow(2) / (sigma * sigma));
  auto negative_similarity = (options_.osm_alpha - d).clamp_min(1e-12);
  auto similarity = positive_similarity * same + negative_similarity * different;

  // Class-aware attention: how confidently each sample sits at its own class's center.
  auto centers = (options_.osm_trains_centers ? centers_ : centers_.detach()).to(x.scalar_type());
  auto attention_logits = x.matmul(l2_normalised_rows(centers).t());
  auto own_attention =
      torch::softmax(attention_logits, 1).gather(1, labels.unsqueeze(1)).squeeze(1);
  auto pair_attention = torch::minimum(own_attention.unsqueeze(0), own_attention.unsqueeze(1));

  auto weights = similarity * pair_attention * off_diagonal;
  auto positive_weights = weights * same;
  auto negative_weights = weights * different;
  auto positive_loss = 0.5 * (positive_weights * d.pow(2)).sum() / positive_weights.sum();
  auto negative_loss =
      0.5 * (negative_weights * negative_similarity.pow(2)).sum() / negative_weights.sum();
  auto value = (1.0 - options_.osm_l) * positive_loss + options_.osm_l * negative_loss;
  return {options_.beta_ratio * value, {{"osm", value}}};
}

// --- identity variance ------------------------------------------------------------------------

LossResult IdentityVariance::operator()(const models::TrainOutput& output,
                                        const torch::Tensor& labels) const {
  auto f = at_least_float(output.embedding);
  auto [identities, index, counts] =
      torch::_unique2(labels, /*sorted=*/true, /*return_inverse=*/true, /*return_counts=*/true);
  const auto batch = f.size(0);
  const auto ids = identities.size(0);
  const auto per_id = batch / ids;
  const auto denominator = options_.var_seed_denominator ? (per_id - 1) * ids / per_id : batch - ids;
  TORCH_CHECK(denominator > 0, "IdentityVariance needs at least two images per identity in a "
              "batch (got ", batch, " images of ", ids, " identities)");

  auto sums = torch::zeros({ids, f.size(1)}, f.options()).index_add(0, index, f);
  auto prototypes = options_.var_k > 0
                        ? sums / static_cast<double>(options_.var_k)
                        : sums / counts.to(f.scalar_type()).unsqueeze(1);
  auto value = (f - prototypes.index_select(0, index)).pow(2).sum() /
               static_cast<double>(denominator);
  return {options_.var_weight * value, {{"var", value}}};
}

// --- satisfied rank + KL consistency ----------------------------------------------------------

LossResult SatisfiedRank::operator()(const models::TrainOutput& output,
                                     const torch::Tensor& labels) const {
  TORCH_CHECK(output.logits.size() == 2,
              "SatisfiedRank compares two classifier branches; the model gave ",
              output.logits.size());
  auto p1 = torch::softmax(at_least_float(output.logits[0]), 1);
  auto p2 = torch::softmax(at_least_float(output.logits[1]), 1);

  auto divergence = (p1 * torch::log(p1 / (p2 + 1e-12) + 1e-12)).sum(1).mean();
  auto consistency = torch::relu(divergence - options_.consistency_margin);

  auto target = labels.unsqueeze(1);
  auto t1 = p1.gather(1, target).squeeze(1);
  auto t2 = p2.gather(1, target).squeeze(1);
  auto rank = torch::relu(t1 - t2 + options_.rank_margin);
  auto satisfied = torch::relu(2.0 * options_.satisfied_margin - t1 - t2);
  auto rank_loss = torch::minimum(rank, satisfied).mean();

  return {options_.lsr_weight * rank_loss + options_.lcn_weight * consistency,
          {{"lsr", rank_loss}, {"lcns", consistency}}};
}

}  // namespace fgreid::losses
