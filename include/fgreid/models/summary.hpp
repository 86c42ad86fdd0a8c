#pragma once
// `--print-model`: the module tree with parameter counts and the compute per image.
#include <fgreid/models/module.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fgreid::models {

/// One module of the tree, down to ModelSummary's depth.
struct ModuleRow {
  /// Dotted name ("" for the model itself, "base", "base.layer1", ...).
  std::string name;
  /// Nesting depth (0 for the model, 1 for its top-level blocks).
  int depth = 0;
  /// The class, or for LibTorch's own layers their description ("Conv2d(2048, 1024, ...)").
  std::string type;
  /// Parameters of this module and everything inside it.
  std::int64_t parameters = 0;
};

struct ModelSummary {
  /// Modules to the requested depth, in registration order (depth first).
  std::vector<ModuleRow> rows;
  /// Every parameter of the model.
  std::int64_t parameters = 0;
  /// Parameters with requires_grad.
  std::int64_t trainable_parameters = 0;
  /// Multiply-accumulates of one inference pass per image (the "FLOPs" papers quote): every
  /// convolution, linear layer and matrix product; normalisation and activations excluded.
  std::int64_t macs_per_image = 0;
  /// The input shape the MACs were counted at (with batch 1).
  std::vector<std::int64_t> input_shape;
};

/// Multiply-accumulates of the convolutions (aten::convolution), and the matrix products
/// (mm, addmm, bmm, baddbmm, which linear layers and matmul dispatch to) that `work` runs on
/// this thread, read from their operand shapes as the ops execute (nested ops counted once).
std::int64_t count_macs(const std::function<void()>& work);

/// The tree of `model` to `max_depth` with parameter counts, and the MACs of
/// `forward(zeros(input_shape))` divided by `images_per_input`, run in eval mode without
/// gradients (the training flag is restored afterwards).
ModelSummary describe_model(torch::nn::Module& model,
                            const std::function<void(const torch::Tensor&)>& forward,
                            std::vector<std::int64_t> input_shape,
                            std::int64_t images_per_input = 1, int max_depth = 2);

/// The same for a re-ID network at height × width: one image [1,3,H,W], or with `frames` > 0
/// one clip [1,frames,3,H,W] with MACs per frame.
ModelSummary describe_model(ReidModuleImpl& model, std::int64_t height, std::int64_t width,
                            std::int64_t frames = 0, int max_depth = 2);

/// The summary as indented text: one line per module with its parameters, then totals and
/// GMACs per image.
std::string format_summary(const ModelSummary& summary);

}  // namespace fgreid::models
