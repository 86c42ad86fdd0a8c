#include <fgreid/models/trunk.hpp>

#include <fmt/format.h>

namespace fgreid::models {

namespace {

namespace nn = torch::nn;

nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1) {
  return nn::Conv2d(
      nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// torchvision's block layouts, parameter for parameter.
class BlockImpl : public nn::Module {
 public:
  BlockImpl(bool bottleneck, std::int64_t in, std::int64_t width, std::int64_t stride)
      : bottleneck_(bottleneck) {
    const std::int64_t out = width * (bottleneck ? 4 : 1);
    if (bottleneck) {
      conv1 = register_module("conv1", conv(in, width, 1));
      bn1 = register_module("bn1", BatchNorm2d(width));
      conv2 = register_module("conv2", conv(width, width, 3, stride));
      bn2 = register_module("bn2", BatchNorm2d(width));
      conv3 = register_module("conv3", conv(width, out, 1));
      bn3 = register_module("bn3", BatchNorm2d(out));
    } else {
      conv1 = register_module("conv1", conv(in, width, 3, stride));
      bn1 = register_module("bn1", BatchNorm2d(width));
      conv2 = register_module("conv2", conv(width, width, 3));
      bn2 = register_module("bn2", BatchNorm2d(width));
    }
    if (stride != 1 || in != out)
      downsample = register_module(
          "downsample", nn::Sequential(conv(in, out, 1, stride), BatchNorm2d(out)));
  }

  torch::Tensor forward(torch::Tensor x) {
    auto identity = downsample ? downsample->forward(x) : x;
    auto y = torch::relu(bn1(conv1(x)));
    y = bn2(conv2(y));
    if (bottleneck_) y = bn3(conv3(torch::relu(y)));
    return torch::relu(y + identity);
  }

 private:
  bool bottleneck_;
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Block);

struct Layout {
  bool bottleneck;
  std::array<int, 4> blocks;
};

Layout layout_of(int depth) {
  switch (depth) {
    case 18: return {false, {2, 2, 2, 2}};
    case 34: return {false, {3, 4, 6, 3}};
    case 50: return {true, {3, 4, 6, 3}};
    case 101: return {true, {3, 4, 23, 3}};
    case 152: return {true, {3, 8, 36, 3}};
    default:
      throw std::invalid_argument(
          fmt::format("ResNet depth must be 18, 34, 50, 101 or 152, not {}", depth));
  }
}

}  // namespace

TrunkImpl::TrunkImpl(TrunkOptions options) : options_(options) {
  TORCH_CHECK(options.last_stride == 1 || options.last_stride == 2,
              "last_stride must be 1 or 2, not ", options.last_stride);
  const Layout layout = layout_of(options.depth);
  conv1 = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", BatchNorm2d(64));
  std::int64_t in = 64;
  auto make_layer = [&](std::int64_t width, int blocks, std::int64_t stride) {
    nn::Sequential layer;
    for (int i = 0; i < blocks; ++i) {
      layer->push_back(Block(layout.bottleneck, in, width, i == 0 ? stride : 1));
      in = width * (layout.bottleneck ? 4 : 1);
    }
    return layer;
  };
  layer1 = register_module("layer1", make_layer(64, layout.blocks[0], 1));
  layer2 = register_module("layer2", make_layer(128, layout.blocks[1], 2));
  layer3 = register_module("layer3", make_layer(256, layout.blocks[2], 2));
  layer4 = register_module("layer4", make_layer(512, layout.blocks[3], options.last_stride));

  // torchvision's initialisation.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* c = module->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = module->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    }
  }
}

torch::Tensor TrunkImpl::forward(torch::Tensor x) {
  x = torch::max_pool2d(torch::relu(bn1(conv1(x))), 3, 2, 1);
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
}

std::int64_t TrunkImpl::channels() const { return layout_of(options_.depth).bottleneck ? 2048 : 512; }

}  // namespace fgreid::models
