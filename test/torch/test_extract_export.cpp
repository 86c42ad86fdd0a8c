// --extract-images (features of the user's own images with a trained run's weights) and
// scripts/export (TorchScript and ONNX): the recipe binary's features are checked against the
// Python definition of the network on the same images, and the exported files against the
// binary, in Python (torch.jit.load, onnxruntime) and in C++ (torch::jit::load), to 1e-4. And
// extraction runs in the run's precision (--amp, --channels-last).
#include <fgreid/detail/pickle.hpp>
#include <fgreid/engine/checkpoint.hpp>
#include <fgreid/eval/features.hpp>
#include <fgreid/models/bnneck.hpp>
#include <fgreid/models/fgreid.hpp>
#include <fgreid/models/resnet.hpp>
#include <fgreid/models/weights.hpp>

#include <ATen/autocast_mode.h>
#include <ATen/cpu/Utils.h>
#include <doctest/doctest.h>
#include <opencv2/imgcodecs.hpp>
#include <torch/script.h>

#include "reference.hpp"
#include "support.hpp"

#include <fstream>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace md = fgreid::models;
using fgreid::test::run_command;
using fgreid::test::TempDir;

const std::string kRecipe = std::string(FGREID_BINARY_DIR) + "/recipe_market_image";
const std::string kSize = " --height 64 --width 32 --device cpu --threads 2 --workers 1 --test-batch 2";

/// An FGReID image model whose every part matters (random BatchNorm statistics, a non-zero
/// non-local output), exported with --export-weights' writer.
std::shared_ptr<md::FGReIDNetImpl> random_model(const fs::path& exported) {
  torch::manual_seed(5);
  auto model = std::dynamic_pointer_cast<md::FGReIDNetImpl>(
      md::FGReIDImage<>::build({}, md::ModelContext{.num_classes = 5, .height = 64, .width = 32}));
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_modules())
    if (auto* bn = item.value()->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.normal_(0.0, 0.1);
      bn->running_var.uniform_(0.5, 1.5);
    }
  model->named_parameters()["w_z.weight"].normal_(0.0, 0.05);
  md::export_weights(exported, *model);
  return model;
}

/// Random-noise images already at the input size (so no resize method can differ), in two folders.
std::vector<fs::path> write_images(const fs::path& folder, int count, std::uint32_t seed = 3) {
  std::mt19937 random(seed);
  std::vector<fs::path> images;
  for (int i = 0; i < count; ++i) {
    cv::Mat image(64, 32, CV_8UC3);
    for (auto it = image.begin<cv::Vec3b>(); it != image.end<cv::Vec3b>(); ++it)
      *it = cv::Vec3b(random() % 256, random() % 256, random() % 256);
    const auto path = folder / (i % 2 ? "b" : "a") / ("img" + std::to_string(i) + ".png");
    fs::create_directories(path.parent_path());
    cv::imwrite(path.string(), image);
    images.push_back(path);
  }
  return images;
}

/// An image network that notes, for every forward, the layout and the CPU autocast it ran
/// under, and gives a bf16 feature (as an autocast network may).
struct PrecisionProbe : md::ReidModuleImpl {
  struct Seen {
    bool channels_last, autocast;
    std::string autocast_dtype;
  };
  md::TrainOutput forward_train(const torch::Tensor&) override { return {}; }
  torch::Tensor forward(const torch::Tensor& images) override {
    seen.push_back({images.is_contiguous(at::MemoryFormat::ChannelsLast),
                    at::autocast::is_autocast_enabled(at::kCPU),
                    c10::toString(at::autocast::get_autocast_dtype(at::kCPU))});
    return images.mean({2, 3}).to(at::kBFloat16);
  }
  [[nodiscard]] std::int64_t feature_dim() const override { return 3; }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> trunks() override { return {}; }
  std::vector<Seen> seen;
};

/// A ResNet-18 + BNNeck with random BatchNorm statistics on `device`, in eval mode.
std::shared_ptr<md::ReidModuleImpl> small_network(torch::Device device) {
  torch::manual_seed(3);
  auto model = md::BNNeck<md::ResNet<18>>::build({}, md::ModelContext{.num_classes = 5, .height = 64, .width = 32});
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_modules())
    if (auto* bn = item.value()->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.normal_(0.0, 0.1);
      bn->running_var.uniform_(0.5, 1.5);
    }
  model->to(device);
  model->eval();
  return model;
}

/// `count` noise images (write_images) as entries of one image each.
std::vector<fgreid::datasets::Entry> image_entries(const fs::path& folder, int count) {
  std::vector<fgreid::datasets::Entry> entries;
  for (const auto& image : write_images(folder, count)) entries.push_back({.images = {image}});
  return entries;
}

/// The images' size, one loader worker, `test_batch` images a batch.
fgreid::engine::DataOptions tiny_data(std::int64_t test_batch) {
  fgreid::engine::DataOptions data;
  data.height = 64;
  data.width = 32;
  data.workers = 1;
  data.test_batch = test_batch;
  return data;
}

/// --flip-test --normalize-features.
fgreid::engine::EvalOptions flip_and_normalize() {
  fgreid::engine::EvalOptions eval;
  eval.flip_test = true;
  eval.normalize_features = true;
  return eval;
}

/// Whether this CPU computes bf16 natively, read here apart from eval::ForwardSettings's own reading.
bool native_bf16() {
  const auto capabilities = at::cpu::get_cpu_capabilities();
  for (const auto* name : {"avx512_bf16", "amx_bf16"})
    if (const auto found = capabilities.find(name); found != capabilities.end() && found->second.toBool()) return true;
  return false;
}

std::vector<fs::path> written(const TempDir& dir, const std::string& stem) {
  std::vector<fs::path> files;
  for (const auto& item : fs::directory_iterator(dir.path()))
    if (item.path().filename().string().starts_with(stem)) files.push_back(item.path());
  return files;
}

// The reference: the network in PyTorch on the same images, preprocessed in Python; then the
// export and both exported files on that batch (of 5: the export traced a batch of 2).
const std::string kPython = R"(
import json, os, subprocess, numpy as np, torch, onnxruntime
folder = sys.argv[1]
sys.path.insert(0, os.path.join(SOURCE, 'python'))
from fgreid.networks import TestFeatures, build_network, preprocess
saved = torch.load(f'{folder}/feats.pt', weights_only=True)
paths = open(f'{folder}/feats.paths.txt').read().splitlines()
assert saved['paths'] == paths, (saved['paths'], paths)
ours = saved['features']
assert np.array_equal(np.load(f'{folder}/feats.npy'), ours.numpy())
x = preprocess(paths, 64, 32)
torch.save({'x': x, 'features': ours}, f'{folder}/batch.pt')
model = TestFeatures(build_network(torch.load(f'{folder}/model.pt', weights_only=True), False), True, True)
with torch.no_grad():
    reference = model(x)
subprocess.run([sys.executable, os.path.join(SOURCE, 'scripts', 'export'), '--weights', f'{folder}/model.pt', '--torchscript', f'{folder}/model.ts',
                '--onnx', f'{folder}/model.onnx', '--height', '64', '--width', '32'], check=True)
with torch.no_grad():
    scripted = torch.jit.load(f'{folder}/model.ts')(x)
session = onnxruntime.InferenceSession(f'{folder}/model.onnx', providers=['CPUExecutionProvider'])
onnx = torch.from_numpy(session.run(None, {'input': x.numpy()})[0])
diff = lambda a: float((a - ours).abs().max())
print(json.dumps({'count': len(paths), 'reference': diff(reference), 'torchscript': diff(scripted),
                  'onnx': diff(onnx), 'norm': float(ours.norm(dim=1).mean())}))
)";

}  // namespace

TEST_CASE("extracted features equal the Python network's, and the exported models equal both" *
          doctest::timeout(900)) {
  TempDir dir;
  auto model = random_model(dir / "model.pt");
  const auto images = write_images(dir / "photos", 5);
  const auto r = run_command(kRecipe + kSize + " --weights " + (dir / "model.pt").string() + " --extract-images " +
                             (dir / "photos").string() + " --extract " + (dir / "feats.pt").string());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto summary = nlohmann::json::parse(fgreid::test::last_line(r.out));
  CHECK(summary["count"] == 5);
  CHECK(summary["dim"] == 2048);
  CHECK(r.err.find("extracting 5/5") != std::string::npos);

  const auto script = "SOURCE = " + nlohmann::json(std::string(FGREID_SOURCE_DIR)).dump() + "\n" + kPython;
  const auto result = fgreid::test::run_python_reference(script, dir);
  CHECK(result["count"] == 5);
  CHECK(result["norm"].get<double>() == doctest::Approx(1.0));  // the recipe's flip + L2
  CHECK(result["reference"].get<double>() < 1e-4);
  CHECK(result["torchscript"].get<double>() < 1e-4);
  CHECK(result["onnx"].get<double>() < 1e-4);

  // C++ deployment: torch::jit::load on the same batch.
  const auto batch = fgreid::detail::load_tensor_dict(dir / "batch.pt");
  REQUIRE(batch.size() == 2);
  auto scripted = torch::jit::load((dir / "model.ts").string());
  torch::NoGradGuard no_grad;
  const auto features = scripted.forward({batch[0].second}).toTensor();
  CHECK((features - batch[1].second).abs().max().item<double>() < 1e-4);

  // A checkpoint (best.pt) gives the same features as the exported weights.
  fgreid::engine::save_checkpoint(dir / "best.pt", *model,
                                  {{"model", std::string(md::FGReIDImage<>::name)}, {"num_classes", 5}});
  const auto again = run_command(kRecipe + kSize + " --weights " + (dir / "best.pt").string() + " --extract-images '" +
                                 (dir / "photos/*/*.png").string() + "' --extract " + (dir / "again.pt").string());
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  const auto first = fgreid::detail::load_tensor_dict(dir / "feats.pt");
  const auto second = fgreid::detail::load_tensor_dict(dir / "again.pt");
  CHECK(torch::equal(first.at(0).second, second.at(0).second));
}

TEST_CASE("--extract-images refuses bad input by name and writes nothing") {
  TempDir dir;
  (void)random_model(dir / "model.pt");
  const auto images = write_images(dir / "photos", 2);
  const auto extract = [&](const std::string& source, const fs::path& weights) {
    return run_command(kRecipe + kSize + " --weights " + weights.string() + " --extract-images " + source +
                       " --extract " + (dir / "feats.pt").string());
  };
  SUBCASE("a list naming a missing image") {
    std::ofstream(dir / "list.txt") << images[0].string() << "\nphotos/gone.png\n";
    const auto r = extract((dir / "list.txt").string(), dir / "model.pt");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("list.txt:2: " + (dir / "photos/gone.png").string() + ": no such file") != std::string::npos);
  }
  SUBCASE("a corrupt image") {
    std::ofstream(dir / "photos/a/broken.jpg") << "not a jpeg";
    const auto r = extract((dir / "photos").string(), dir / "model.pt");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("broken.jpg: cannot decode the image") != std::string::npos);
  }
  SUBCASE("the weights of another model") {
    auto baseline = md::BNNeck<md::ResNet<50>>::build({}, md::ModelContext{.num_classes = 5});
    md::export_weights(dir / "baseline.pt", *baseline);
    const auto r = extract((dir / "photos").string(), dir / "baseline.pt");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("baseline.pt") != std::string::npos);
    CHECK(r.err.find("backbone.") != std::string::npos);  // the keys that do not fit are listed
  }
  SUBCASE("no weights, no output") {
    auto r = run_command(kRecipe + kSize + " --extract-images " + (dir / "photos").string() + " --extract " +
                         (dir / "feats.pt").string());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--extract-images needs --weights") != std::string::npos);
    r = run_command(kRecipe + kSize + " --weights " + (dir / "model.pt").string() + " --extract-images " +
                    (dir / "photos").string());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--extract-images needs --extract FILE") != std::string::npos);
  }
  CHECK(written(dir, "feats").empty());
}

TEST_CASE("clip folders: the video recipe's features equal the Python network's and the exported "
          "model's" * doctest::timeout(900)) {
  TempDir dir;
  torch::manual_seed(9);
  auto model = md::FGReIDVideo<>::build({}, md::ModelContext{.num_classes = 4, .height = 64, .width = 32});
  md::export_weights(dir / "model.pt", *model);
  // Three tracklets of exactly --seq-len frames: one test clip each, all its frames in order.
  for (const std::string tracklet : {"t0", "t1", "t2"}) {
    const auto frames = write_images(dir / "clips" / tracklet, 4, static_cast<std::uint32_t>(tracklet[1]));
    for (const auto& frame : frames) fs::rename(frame, dir / "clips" / tracklet / frame.filename());
    fs::remove_all(dir / "clips" / tracklet / "a");
    fs::remove_all(dir / "clips" / tracklet / "b");
  }
  const auto r = run_command(std::string(FGREID_BINARY_DIR) + "/recipe_mars_video" + kSize +
                             " --seq-len 4 --flip-test true --normalize-features true --weights " +
                             (dir / "model.pt").string() + " --extract-images " + (dir / "clips").string() +
                             " --extract " + (dir / "feats.pt").string());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto result = fgreid::test::run_python_reference(
      "SOURCE = " + nlohmann::json(std::string(FGREID_SOURCE_DIR)).dump() + "\n" + R"(
import json, os, subprocess, torch
folder = sys.argv[1]
sys.path.insert(0, os.path.join(SOURCE, 'python'))
from fgreid.networks import TestFeatures, build_network, preprocess
saved = torch.load(f'{folder}/feats.pt', weights_only=True)
clips = [sorted(os.path.join(c, f) for f in os.listdir(c)) for c in saved['paths']]
x = torch.stack([preprocess(frames, 64, 32) for frames in clips])       # [3, 4, 3, 64, 32]
model = TestFeatures(build_network(torch.load(f'{folder}/model.pt', weights_only=True), True), True, True)
with torch.no_grad():
    reference = model(x)
subprocess.run([sys.executable, os.path.join(SOURCE, 'scripts', 'export'), '--weights', f'{folder}/model.pt',
                '--torchscript', f'{folder}/model.ts', '--video', '--seq-len', '4', '--height', '64', '--width', '32'],
               check=True)
with torch.no_grad():
    scripted = torch.jit.load(f'{folder}/model.ts')(x)
ours = saved['features']
print(json.dumps({'clips': len(clips), 'reference': float((reference - ours).abs().max()),
                  'torchscript': float((scripted - ours).abs().max())}))
)",
      dir);
  CHECK(result["clips"] == 3);
  CHECK(result["reference"].get<double>() < 1e-4);
  CHECK(result["torchscript"].get<double>() < 1e-4);
}

TEST_CASE("extraction runs in the run's precision: channels-last batches, bf16 autocast on the CPU only "
          "where it is native, float features that agree with fp32's") {
  TempDir dir;
  const auto entries = image_entries(dir / "photos", 3);
  const auto data = tiny_data(/*test_batch=*/2);  // two batches
  const auto flip_l2 = flip_and_normalize();
  const torch::Device cpu(torch::kCPU);
  using fgreid::engine::AmpMode;
  using ForwardSettings = fgreid::eval::ForwardSettings;

  struct Case {
    ForwardSettings precision;
    bool autocast;  // expected on the CPU
  };
  for (const auto& [precision, autocast] : {Case{{}, false}, Case{{AmpMode::off, true}, false},
                                            Case{{AmpMode::bf16, true}, native_bf16()},
                                            Case{{AmpMode::fp16, false}, false}}) {
    INFO("amp " << static_cast<int>(precision.amp) << ", channels-last " << precision.channels_last);
    PrecisionProbe probe;
    const auto features = fgreid::eval::extract_features(probe, entries, {}, data, flip_l2, cpu, precision);
    CHECK(features.dtype() == torch::kFloat);
    CHECK(features.sizes() == torch::IntArrayRef{3, 3});
    REQUIRE(probe.seen.size() == 4);  // each batch and its flip
    for (const auto& seen : probe.seen) {
      CHECK(seen.channels_last == precision.channels_last);
      CHECK(seen.autocast == autocast);
      if (seen.autocast) CHECK(seen.autocast_dtype == "BFloat16");
    }
    CHECK_FALSE(at::autocast::is_autocast_enabled(at::kCPU));  // the run's state comes back
  }

  // A real network: ResNet-18 + BNNeck with random BatchNorm statistics, converted to
  // channels-last as engine::place converts the run's model.
  auto model = small_network(cpu);
  const auto fp32 = fgreid::eval::extract_features(*model, entries, {}, data, flip_l2, cpu, {});
  {
    torch::NoGradGuard no_grad;
    for (auto& parameter : model->parameters())
      if (parameter.dim() == 4) parameter.set_data(parameter.contiguous(at::MemoryFormat::ChannelsLast));
  }
  const auto channels_last = fgreid::eval::extract_features(*model, entries, {}, data, flip_l2, cpu,
                                                            {AmpMode::off, true});
  CHECK((channels_last - fp32).abs().max().item<double>() < 1e-5);  // the same arithmetic, reordered
  const auto bf16 = fgreid::eval::extract_features(*model, entries, {}, data, flip_l2, cpu,
                                                   {AmpMode::bf16, true});
  CHECK(bf16.dtype() == torch::kFloat);
  // L2-normalised features of 512 dimensions (elements ~0.04): bf16's 8-bit mantissa through
  // 18 layers moves them by a few 1e-3 at most, and keeps each row's direction.
  const auto difference = (bf16 - fp32).abs().max().item<double>();
  MESSAGE("bf16 vs fp32 features: max |difference| " << difference);
  CHECK(difference < 0.01);
  CHECK(torch::nn::functional::cosine_similarity(bf16, fp32).min().item<double>() > 0.999);
  // bf16 computed where the CPU has it natively; bit-identical fp32 elsewhere.
  CHECK(torch::equal(bf16, channels_last) == !native_bf16());
}

TEST_CASE("extraction's forward asks for a CUDA graph only on CUDA: on the CPU it is the model's forward") {
  const torch::Device cpu(torch::kCPU);
  auto model = small_network(cpu);
  torch::NoGradGuard no_grad;
  fgreid::eval::FeatureForward forward(*model, cpu, {.cuda_graphs = true}, /*flip=*/true);
  for (int i = 0; i < 3; ++i) {
    const auto images = torch::randn({2, 3, 64, 32});
    const auto [plain, flipped] = forward(images);
    CHECK(torch::equal(plain, model->forward(images)));
    CHECK(torch::equal(flipped, model->forward(images.flip({-1}))));
  }
  CHECK_FALSE(forward.captured());
}

TEST_CASE("on CUDA extraction replays a CUDA graph for full batches and gives the eager features" *
          doctest::skip(!torch::cuda::is_available())) {
  const torch::Device cuda(torch::kCUDA);
  auto model = small_network(cuda);
  fgreid::eval::ReproducibleKernels deterministic;
  using fgreid::engine::AmpMode;
  for (const auto& settings : {fgreid::eval::ForwardSettings{AmpMode::off, false, true},
                               fgreid::eval::ForwardSettings{AmpMode::bf16, true, true}}) {
    INFO("bf16 + channels-last ", settings.amp == AmpMode::bf16);
    auto eager_settings = settings;
    eager_settings.cuda_graphs = false;
    {
      torch::NoGradGuard no_grad;
      fgreid::eval::FeatureForward graphed(*model, cuda, settings, /*flip=*/true);
      fgreid::eval::FeatureForward eager(*model, cuda, eager_settings, /*flip=*/true);
      torch::manual_seed(8);
      // Full batches (eager, captured, replayed), a smaller last one (eager), and full again.
      for (const std::int64_t size : {4, 4, 4, 4, 3, 4}) {
        const auto images = torch::randn({size, 3, 64, 32}, cuda);
        const auto [plain, flipped] = graphed(images);
        const auto [eager_plain, eager_flipped] = eager(images);
        CHECK(torch::allclose(plain, eager_plain, 1e-5, 1e-5));
        CHECK(torch::allclose(flipped, eager_flipped, 1e-5, 1e-5));
      }
      CHECK(graphed.captured());
      CHECK_FALSE(eager.captured());
    }
    // Through the loader: 7 images at --test-batch 3 are batches of 3, 3 and 1.
    TempDir dir;
    const auto entries = image_entries(dir / "photos", 7);
    const auto data = tiny_data(/*test_batch=*/3);
    const auto graphed = fgreid::eval::extract_features(*model, entries, {}, data, flip_and_normalize(), cuda, settings);
    const auto eager =
        fgreid::eval::extract_features(*model, entries, {}, data, flip_and_normalize(), cuda, eager_settings);
    REQUIRE(graphed.sizes() == torch::IntArrayRef{7, 512});
    CHECK(torch::allclose(graphed, eager, 1e-5, 1e-6));
  }
}
