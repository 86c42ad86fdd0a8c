// The FGReID model, weights in and out, and the model summary, checked against PyTorch and
// torchvision in Python (the project's .venv) and against hand counts.
#include <fgreid/detail/pickle.hpp>
#include <fgreid/error.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/models/resnet.hpp>
#include <fgreid/models/summary.hpp>
#include <fgreid/models/weights.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <fstream>
#include <functional>
#include <sstream>
#include <map>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace md = fgreid::models;
using fgreid::test::TempDir;

/// Runs `code` with the project's Python (torch + torchvision); sys.argv[1] is `folder`.
fgreid::test::CommandResult run_python(const TempDir& dir, const std::string& code) {
  const auto script = dir / "reference.py";
  std::ofstream(script) << code;
  return fgreid::test::run_command(std::string(FGREID_PYTHON) + " " + script.string() + " " +
                                   dir.path().string());
}

std::map<std::string, torch::Tensor> read_tensors(const fs::path& file) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, tensor] : fgreid::detail::load_tensor_dict(file)) out.emplace(name, tensor);
  return out;
}

void write_tensors(const fs::path& file, const std::map<std::string, torch::Tensor>& tensors) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.contiguous());
  std::ofstream(file, std::ios::binary) << fgreid::detail::pickle_untagged(dict);
}

/// max |a − b| / max |b|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  const double scale = b.abs().max().item<double>();
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>() /
         std::max(scale, 1e-30);
}

/// Random BatchNorm statistics and affine parameters everywhere, so that eval mode tests them.
void randomize_norms(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_modules()) {
    auto randomize = [](auto* norm) {
      norm->running_mean.normal_(0.0, 0.1);
      norm->running_var.uniform_(0.5, 1.5);
      norm->weight.uniform_(0.5, 1.5);
      norm->bias.normal_(0.0, 0.1);
    };
    if (auto* bn2d = item.value()->as<torch::nn::BatchNorm2d>()) randomize(bn2d);
    if (auto* bn1d = item.value()->as<torch::nn::BatchNorm1d>()) randomize(bn1d);
  }
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const fgreid::DataError& error) {
    return error.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// torchvision's ResNet-50 with re-ID's last stride 1, shared by the Python snippets.
const std::string kPythonPrelude = std::string(R"(
import sys, collections, torch, torchvision
import torch.nn as nn
import torch.nn.functional as F
sys.path.insert(0, ')") + FGREID_SOURCE_DIR + R"(/test/reference')
from fgreid_reference import resnet50_last_stride_1, trunk, FGReID
folder = sys.argv[1]
torch.manual_seed(0)
)";

}  // namespace

TEST_CASE("torchvision's resnet50 weights load into the ResNet-50 trunk and give its features") {
  TempDir dir;
  const auto result = run_python(dir, kPythonPrelude + R"(
net = resnet50_last_stride_1()
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1); m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5); m.bias.normal_(0, 0.1)
            m.num_batches_tracked.fill_(7)
net.eval()
state = net.state_dict()
assert isinstance(state, collections.OrderedDict) and hasattr(state, '_metadata')
torch.save(state, f'{folder}/ordered.pt')
torch.save(dict(state), f'{folder}/plain.pt')
import numpy as np
torch.save({'state_dict': state, 'epoch': 3, 'rank1': np.float64(0.5), 'args': {'lr': 0.1}},
           f'{folder}/checkpoint.pt')
torch.jit.script(net).save(f'{folder}/scripted.pt')
x = torch.randn(2, 3, 64, 32)
with torch.no_grad():
    y = trunk(net, x)
torch.save({'x': x, 'y': y}, f'{folder}/io.pt')
)");
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  auto io = read_tensors(dir / "io.pt");
  REQUIRE(io.at("y").sizes() == torch::IntArrayRef({2, 2048, 4, 2}));

  for (const std::string file : {"ordered.pt", "plain.pt", "checkpoint.pt", "scripted.pt"}) {
    CAPTURE(file);
    auto trunk = md::ResNet<50, 1>::build({});
    const auto warnings = md::load_weights(dir / file, *trunk, md::LoadOptions{.skip_prefixes = {"fc."}});
    CHECK(warnings.empty());
    trunk->eval();
    torch::NoGradGuard no_grad;
    CHECK(relative_error(trunk->forward(io.at("x")), io.at("y")) < 1e-5);
    // The buffers come along too.
    CHECK(trunk->named_buffers()["layer2.1.bn1.num_batches_tracked"].item<std::int64_t>() == 7);
  }

  SUBCASE("without skipping torchvision's classifier, its keys are reported as unexpected") {
    auto trunk = md::ResNet<50, 1>::build({});
    const auto message = error_of([&] { md::load_weights(dir / "ordered.pt", *trunk); });
    CHECK(message.rfind((dir / "ordered.pt").string(), 0) == 0);
    CHECK(contains(message, "unexpected 2 [fc.weight, fc.bias]"));
  }
}

TEST_CASE("an exported ResNet-50 trunk loads into torchvision's resnet50 and gives the same features") {
  TempDir dir;
  torch::manual_seed(3);
  auto trunk = md::ResNet<50, 1>::build({});
  randomize_norms(*trunk);
  trunk->eval();
  md::export_weights(dir / "trunk.pt", *trunk);
  const auto x = torch::randn({2, 3, 64, 32});
  torch::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = trunk->forward(x);
  }
  write_tensors(dir / "input.pt", {{"x", x}});

  const auto result = run_python(dir, kPythonPrelude + R"(
net = resnet50_last_stride_1()
net.fc = nn.Identity()
state = torch.load(f'{folder}/trunk.pt', weights_only=True)
net.load_state_dict(state, strict=True)
net.eval()
x = torch.load(f'{folder}/input.pt', weights_only=True)['x']
with torch.no_grad():
    torch.save({'y': trunk(net, x)}, f'{folder}/output.pt')
)");
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(relative_error(read_tensors(dir / "output.pt").at("y"), y) < 1e-5);
}

namespace {

// The FGReID network written from the paper's description of the seed's model (not its code),
// for images [B,3,H,W] or clips [B,T,3,H,W].
const std::string kPythonFGReID = R"(
def to_seed_names(state):
    names = {'conv1.': '0.', 'bn1.': '1.', 'layer1.': '4.', 'layer2.': '5.', 'layer3.': '6.', 'layer4.': '7.'}
    out = collections.OrderedDict()
    for k, v in state.items():
        for trunk_name in ('base.', 'base_mars.'):
            if k.startswith(trunk_name):
                rest = k[len(trunk_name):]
                for tv, seq in names.items():
                    if rest.startswith(tv):
                        k = trunk_name + seq + rest[len(tv):]
                        break
                break
        out['module.' + k] = v
    return out

def check(kind, inputs_shape_ok=True):
    state = torch.load(f'{folder}/{kind}_model.pt', weights_only=True)
    model = FGReID(7, kind == 'video')
    model.load_state_dict(state, strict=True)
    x = torch.load(f'{folder}/{kind}_input.pt', weights_only=True)['x']
    out = {}
    model.eval()
    with torch.no_grad():
        out['eval_features'] = model(x, 'sample')[2]
        out['eval_features_batch_min'] = model(x, 'batch')[2]
    model.train()
    with torch.no_grad():
        y1, y2, f, m = model(x, 'batch')
    out.update(train_logits1=y1, train_logits2=y2, train_features=f, train_attention=m)
    torch.save(out, f'{folder}/{kind}_reference.pt')
    # The seed's own checkpoint layout: Sequential trunks, DataParallel's 'module.' prefix.
    torch.save({'state_dict': to_seed_names(state), 'epoch': 10}, f'{folder}/{kind}_seed_names.pt')
)";

struct ModelRun {
  torch::Tensor eval_features, eval_features_batch_min;
  fgreid::models::TrainOutput train;
};

/// Builds an FGReID network with every part non-trivial (random BN statistics, a non-zero
/// non-local output), exports it, and records its outputs on `x`: eval first, then train.
template <class Policy>
ModelRun export_and_run(const TempDir& dir, const std::string& kind, const torch::Tensor& x) {
  md::FGReIDOptions options;  // training: batch minimum; eval: per sample
  auto model = std::dynamic_pointer_cast<md::FGReIDNetImpl>(
      Policy::build(options, md::ModelContext{.num_classes = 7, .height = 64, .width = 32}));
  REQUIRE(model);
  randomize_norms(*model);
  {
    torch::NoGradGuard no_grad;
    model->named_parameters()["w_z.weight"].normal_(0.0, 0.05);
  }
  md::export_weights(dir / (kind + "_model.pt"), *model);
  write_tensors(dir / (kind + "_input.pt"), {{"x", x}});
  ModelRun run;
  torch::NoGradGuard no_grad;
  model->eval();
  run.eval_features = model->forward(x);
  md::FGReIDNetImpl batch_min(md::ResNet<50, 1>::build({}), md::ResNet<50, 1>::build({}), 7,
                              md::FGReIDOptions{.eval_attention_min = md::AttentionMin::batch},
                              Policy::modality);
  batch_min.eval();
  md::load_state_dict(batch_min, md::state_dict_of(*model), {}, "in memory");
  run.eval_features_batch_min = batch_min.forward(x);
  model->train();
  run.train = model->forward_train(x);
  return run;
}

}  // namespace

TEST_CASE("the FGReID model equals a PyTorch module written from the paper's description") {
  TempDir dir;
  torch::manual_seed(11);
  const auto images = torch::randn({4, 3, 64, 32});
  const auto clips = torch::randn({2, 3, 3, 64, 32});
  const auto image_run = export_and_run<md::FGReIDImage<>>(dir, "image", images);
  const auto video_run = export_and_run<md::FGReIDVideo<>>(dir, "video", clips);

  const auto result = run_python(dir, kPythonPrelude + kPythonFGReID + R"(
check('image')
check('video')
)");
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);

  for (const auto& [kind, run] : {std::pair{std::string("image"), image_run}, std::pair{std::string("video"), video_run}}) {
    CAPTURE(kind);
    auto reference = read_tensors(dir / (kind + "_reference.pt"));
    CHECK(run.train.logits.size() == 2);
    CHECK(relative_error(run.train.logits[0], reference.at("train_logits1")) < 1e-4);
    CHECK(relative_error(run.train.logits[1], reference.at("train_logits2")) < 1e-4);
    CHECK(relative_error(run.train.features, reference.at("train_features")) < 1e-4);
    CHECK(relative_error(run.train.embedding, reference.at("train_features")) < 1e-4);
    CHECK(relative_error(run.train.attention, reference.at("train_attention")) < 1e-4);
    CHECK(relative_error(run.eval_features, reference.at("eval_features")) < 1e-4);
    CHECK(relative_error(run.eval_features_batch_min, reference.at("eval_features_batch_min")) < 1e-4);
    CHECK(run.eval_features.size(1) == 2048);

    // The seed-named checkpoint Python wrote loads back through from_seed_names.
    auto model = std::dynamic_pointer_cast<md::FGReIDNetImpl>(
        kind == "image" ? md::FGReIDImage<>::build({}, {.num_classes = 7})
                        : md::FGReIDVideo<>::build({}, {.num_classes = 7}));
    const auto seed_file = dir / (kind + "_seed_names.pt");
    md::load_state_dict(*model, md::from_seed_names(md::read_state_dict(seed_file)), {},
                        seed_file.string());
    model->eval();
    torch::NoGradGuard no_grad;
    const auto input = read_tensors(dir / (kind + "_input.pt")).at("x");
    CHECK(relative_error(model->forward(input), reference.at("eval_features")) < 1e-4);
  }
  CHECK(image_run.train.attention.sizes() == torch::IntArrayRef({4, 1, 4, 2}));
  CHECK(video_run.train.attention.sizes() == torch::IntArrayRef({2, 3, 4, 2}));
}

TEST_CASE("a per-sample attention minimum makes a sample's feature independent of its batch") {
  torch::manual_seed(5);
  auto model = std::dynamic_pointer_cast<md::FGReIDNetImpl>(
      md::FGReIDImage<>::build({}, {.num_classes = 3}));
  model->eval();
  const auto query = torch::randn({1, 3, 64, 32});
  // Batch mates whose conv1 maps reach lower minima than the query's own.
  const auto mild = torch::cat({query, torch::randn({1, 3, 64, 32})});
  const auto strong = torch::cat({query, 6 * torch::randn({2, 3, 64, 32})});
  torch::NoGradGuard no_grad;
  {
    // Scale conv1 so that the query's map has values of order 1: a random trunk's are large
    // enough to saturate the sigmoid, which would hide any minimum.
    auto parameters = model->named_parameters();
    const auto x = torch::conv2d(model->base()->forward(query), parameters["conv1.weight"],
                                 parameters["conv1.bias"]);
    const double scale = 1.0 / x.abs().max().item<double>();
    parameters["conv1.weight"].mul_(scale);
    parameters["conv1.bias"].mul_(scale);
  }

  // The same weights, one network per minimum; each gives the query's feature and map.
  auto network = [&](md::AttentionMin minimum) {
    auto net = std::make_shared<md::FGReIDNetImpl>(
        md::ResNet<50, 1>::build({}), md::ResNet<50, 1>::build({}), 3,
        md::FGReIDOptions{.eval_attention_min = minimum}, fgreid::Modality::image);
    md::load_state_dict(*net, md::state_dict_of(*model), {}, "in memory");
    net->eval();
    return net;
  };
  SUBCASE("sample: the same feature in every batch") {
    auto net = network(md::AttentionMin::sample);
    const auto alone = net->forward(query)[0];
    CHECK(relative_error(net->forward(mild)[0], alone) < 1e-5);
    CHECK(relative_error(net->forward(strong)[0], alone) < 1e-5);
    CHECK(relative_error(net->attention_map(strong)[0], net->attention_map(query)[0]) < 1e-5);
  }
  SUBCASE("batch (the seed): the map and feature move with the batch mates") {
    auto net = network(md::AttentionMin::batch);
    // The lower batch minimum lifts the whole map; branch 2 (the feature's second half),
    // pooled under it, follows.
    CHECK(relative_error(net->attention_map(strong)[0], net->attention_map(query)[0]) > 1e-2);
    const auto alone = net->forward(query)[0].slice(0, 1024);
    CHECK(relative_error(net->forward(strong)[0].slice(0, 1024), alone) > 1e-4);
  }
  SUBCASE("video: a clip's feature is independent of the other clips in sample mode") {
    auto video = std::dynamic_pointer_cast<md::FGReIDNetImpl>(
        md::FGReIDVideo<>::build({}, {.num_classes = 3}));
    video->eval();
    const auto clip = torch::randn({1, 2, 3, 64, 32});
    const auto alone = video->forward(clip)[0];
    const auto together = video->forward(torch::cat({clip, 6 * torch::randn({1, 2, 3, 64, 32})}))[0];
    CHECK(relative_error(together, alone) < 1e-5);
  }
}

TEST_CASE("weights that do not fit are rejected with every offending key listed") {
  TempDir dir;
  namespace nn = torch::nn;
  auto make = [](std::int64_t channels, bool extra) {
    nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(3, channels, 3)), nn::BatchNorm2d(channels));
    if (extra) net->push_back(nn::Linear(4, 2));
    return net;
  };
  torch::manual_seed(2);
  auto source = make(4, false);
  randomize_norms(*source);
  const auto file = dir / "small.pt";
  md::export_weights(file, *source);

  SUBCASE("a fitting module gets every value") {
    auto target = make(4, false);
    CHECK(md::load_weights(file, *target).empty());
    const auto loaded = md::state_dict_of(*target);
    const auto original = md::state_dict_of(*source);
    REQUIRE(loaded.size() == original.size());
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      CAPTURE(loaded[i].first);
      CHECK(loaded[i].first == original[i].first);
      CHECK(torch::equal(loaded[i].second, original[i].second));
    }
  }
  SUBCASE("mis-shaped") {
    auto target = make(5, false);
    const auto message = error_of([&] { md::load_weights(file, *target); });
    CHECK(message.rfind(file.string(), 0) == 0);
    CHECK(contains(message, "0.weight [4, 3, 3, 3] (model [5, 3, 3, 3])"));
    CHECK(contains(message, "1.running_var [4] (model [5])"));
    // Nothing was copied.
    CHECK(target->named_buffers(true)["1.running_var"].eq(1).all().item<bool>());
  }
  SUBCASE("missing: an error when strict, a warning otherwise") {
    auto target = make(4, true);
    const auto message = error_of([&] { md::load_weights(file, *target); });
    CHECK(contains(message, "missing 2 [2.bias, 2.weight]"));
    const auto warnings = md::load_weights(file, *target, {.strict = false});
    REQUIRE(warnings.size() == 1);
    CHECK(contains(warnings[0], "2.weight"));
    CHECK(torch::equal(target->named_parameters(true)["0.weight"], source->named_parameters(true)["0.weight"]));
  }
  SUBCASE("unexpected keys are an error even when not strict") {
    auto state = md::state_dict_of(*source);
    state.emplace_back("head.weight", torch::zeros({2}));
    auto target = make(4, false);
    const auto message =
        error_of([&] { md::load_state_dict(*target, state, {.strict = false}, "a.pt"); });
    CHECK(message.rfind("a.pt: ", 0) == 0);
    CHECK(contains(message, "unexpected 1 [head.weight]"));
  }
  SUBCASE("a prefix picks one part of a larger state dict") {
    auto state = md::state_dict_of(*source);
    for (auto& [name, tensor] : state) name = "base." + name;
    state.emplace_back("classifier.weight", torch::zeros({3, 4}));
    auto target = make(4, false);
    CHECK(md::load_state_dict(*target, state, {.from_prefix = "base."}, "whole.pt").empty());
    CHECK(torch::equal(target->named_parameters(true)["0.weight"], source->named_parameters(true)["0.weight"]));
  }
  SUBCASE("files that are not state dicts") {
    std::ofstream(dir / "text.pt") << "not a zip";
    CHECK(error_of([&] { md::read_state_dict(dir / "text.pt"); }).rfind((dir / "text.pt").string(), 0) == 0);
    CHECK(contains(error_of([&] { md::read_state_dict(dir / "absent.pt"); }), "no such"));
  }
}

TEST_CASE("describe_model counts parameters and multiply-accumulates") {
  namespace nn = torch::nn;
  SUBCASE("a tiny network, counted by hand") {
    nn::Sequential net(nn::Conv2d(nn::Conv2dOptions(3, 8, 3).padding(1)), nn::Flatten(),
                       nn::Linear(8 * 10 * 6, 5));
    const auto summary = md::describe_model(
        *net, [&](const torch::Tensor& x) { net->forward(x); }, {1, 3, 10, 6});
    // conv: 8 outputs × 10×6 positions × 3×3×3 weights; linear: 480 × 5.
    CHECK(summary.macs_per_image == 8 * 10 * 6 * 27 + 480 * 5);
    CHECK(summary.parameters == (8 * 27 + 8) + (480 * 5 + 5));
    REQUIRE(summary.rows.size() == 4);
    CHECK(summary.rows[1].name == "0");
    CHECK(summary.rows[1].parameters == 8 * 27 + 8);
    CHECK(contains(summary.rows[1].type, "Conv2d(3, 8"));
    // Batched products: 2 × (3×4 · 4×5).
    CHECK(md::count_macs([] { torch::bmm(torch::ones({2, 3, 4}), torch::ones({2, 4, 5})); }) == 120);
  }
  SUBCASE("the ResNet-50 trunk, against torchvision") {
    TempDir dir;
    const auto result = run_python(dir, kPythonPrelude + R"(
net = resnet50_last_stride_1()
total = sum(p.numel() for p in net.parameters())
without_fc = sum(p.numel() for n, p in net.named_parameters() if not n.startswith('fc.'))
macs = [0]
def hook(module, inputs, output):
    macs[0] += output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
for m in net.modules():
    if isinstance(m, nn.Conv2d):
        m.register_forward_hook(hook)
net.eval()
with torch.no_grad():
    trunk(net, torch.zeros(1, 3, 64, 32))
print(total, without_fc, macs[0])
)");
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
    std::istringstream numbers(fgreid::test::last_line(result.out));
    std::int64_t total = 0, without_fc = 0, macs = 0;
    numbers >> total >> without_fc >> macs;
    CHECK(total == 25'557'032);  // torchvision's documented resnet50 parameter count
    auto trunk = md::ResNet<50, 1>::build({});
    const auto summary = md::describe_model(
        *trunk, [&](const torch::Tensor& x) { trunk->forward(x); }, {1, 3, 64, 32});
    CHECK(summary.parameters == without_fc);
    CHECK(summary.macs_per_image == macs);
    CHECK(trunk->is_training());  // restored
  }
  SUBCASE("the FGReID model: two trunks plus the heads") {
    auto model = md::FGReIDImage<>::build({}, {.num_classes = 10});
    const auto summary = md::describe_model(*model, 64, 32);
    const std::int64_t trunk = 23'508'032;  // 25,557,032 less fc's 2048×1000 + 1000
    const std::int64_t heads = 2 * (2048 * 1024 + 1024) + 2 * 2 * 1024 + 1024 * 10 +
                               2 * 1024 * 256 + 256 * 1024;
    CHECK(summary.parameters == 2 * trunk + heads);
    CHECK(summary.macs_per_image > 0);
    const auto text = md::format_summary(summary);
    CHECK(contains(text, "base_mars"));
    CHECK(contains(text, "multiply-accumulates per image at 1x3x64x32"));
    CHECK(contains(text, "parameters: 52,013,184 (52.01 M)"));  // 2 × 23,508,032 + 4,997,120, by hand
    CHECK(contains(text, " 23,508,032  "));                      // one trunk's row
    MESSAGE(text);
  }
}
