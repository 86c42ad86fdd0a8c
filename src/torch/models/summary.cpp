#include <fgreid/models/summary.hpp>

#include <ATen/record_function.h>
#include <fmt/format.h>

#include <algorithm>
#include <sstream>
#include <string_view>

namespace fgreid::models {

namespace {

enum class Op { none, convolution, mm, addmm, bmm, baddbmm };

Op op_of(std::string_view name) {
  if (name == "aten::convolution") return Op::convolution;
  if (name == "aten::mm") return Op::mm;
  if (name == "aten::addmm") return Op::addmm;
  if (name == "aten::bmm") return Op::bmm;
  if (name == "aten::baddbmm") return Op::baddbmm;
  return Op::none;
}

/// The counter of the count_macs call running on this thread (RecordFunction callbacks are
/// plain function pointers, so their state lives here).
struct Counter {
  std::int64_t macs = 0;
  int depth = 0;  // counted ops open on the stack: ops nested inside them are not counted again
};
thread_local Counter* active_counter = nullptr;

/// A convolution's MACs per output element, known at its start; the output's size at its end.
struct ConvolutionStart : at::ObserverContext {
  std::int64_t macs_per_output = 0;
};

std::int64_t product(c10::IntArrayRef sizes, std::size_t from = 0) {
  std::int64_t out = 1;
  for (std::size_t i = from; i < sizes.size(); ++i) out *= sizes[i];
  return out;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  Counter* counter = active_counter;
  const Op op = op_of(fn.name());
  if (counter == nullptr || op == Op::none) return nullptr;
  if (counter->depth++ > 0) return nullptr;
  const auto inputs = fn.inputs();
  auto sizes = [&](std::size_t i) { return inputs[i].toTensor().sizes(); };
  switch (op) {
    case Op::convolution: {
      const auto weight = sizes(1);
      const bool transposed = inputs.size() > 6 && inputs[6].isBool() && inputs[6].toBool();
      if (transposed) {
        // Every input element meets out_channels/groups × kernel weights.
        counter->macs += product(sizes(0)) * weight[1] * product(weight, 2);
        return nullptr;
      }
      auto start = std::make_unique<ConvolutionStart>();
      start->macs_per_output = weight[1] * product(weight, 2);  // in/groups × kernel
      return start;
    }
    case Op::mm: counter->macs += sizes(0)[0] * sizes(0)[1] * sizes(1)[1]; break;
    case Op::addmm: counter->macs += sizes(1)[0] * sizes(1)[1] * sizes(2)[1]; break;
    case Op::bmm: counter->macs += sizes(0)[0] * sizes(0)[1] * sizes(0)[2] * sizes(1)[2]; break;
    case Op::baddbmm: counter->macs += sizes(1)[0] * sizes(1)[1] * sizes(1)[2] * sizes(2)[2]; break;
    case Op::none: break;
  }
  return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  Counter* counter = active_counter;
  if (counter == nullptr || op_of(fn.name()) == Op::none) return;
  --counter->depth;
  if (auto* start = dynamic_cast<ConvolutionStart*>(context)) {
    const auto& outputs = fn.outputs();
    if (!outputs.empty() && outputs[0].isTensor())
      counter->macs += start->macs_per_output * outputs[0].toTensor().numel();
  }
}

/// "torch::nn::Conv2d(3, 64, ...)" -> "Conv2d(3, 64, ...)"; "fgreid::models::TrunkImpl" -> "Trunk".
std::string type_of(const torch::nn::Module& module) {
  std::string text;
  if (module.children().empty()) {
    std::ostringstream out;
    module.pretty_print(out);
    text = out.str();
  } else {
    text = module.name();
  }
  const auto paren = text.find('(');
  const auto colon = text.rfind("::", paren);
  if (colon != std::string::npos) text = text.substr(colon + 2);
  const auto impl = text.find("Impl");
  if (impl != std::string::npos && (impl + 4 == text.size() || text[impl + 4] == '('))
    text.erase(impl, 4);
  return text;
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& parameter : module.parameters(/*recurse=*/true)) count += parameter.numel();
  return count;
}

void add_rows(const torch::nn::Module& module, const std::string& name, int depth, int max_depth,
              std::vector<ModuleRow>& rows) {
  rows.push_back(ModuleRow{name, depth, type_of(module), count_parameters(module)});
  if (depth >= max_depth) return;
  for (const auto& child : module.named_children())
    add_rows(*child.value(), name.empty() ? child.key() : name + "." + child.key(), depth + 1,
             max_depth, rows);
}

std::string with_commas(std::int64_t value) {
  const std::string digits = std::to_string(value);
  const std::size_t lead = digits.size() % 3;  // digits before the first comma, when not 0
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (i + 3 - lead) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

}  // namespace

std::int64_t count_macs(const std::function<void()>& work) {
  TORCH_CHECK(active_counter == nullptr, "count_macs: already counting on this thread");
  Counter counter;
  active_counter = &counter;
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(on_start, on_end).needsInputs(true).needsOutputs(true));
  try {
    work();
  } catch (...) {
    at::removeCallback(handle);
    active_counter = nullptr;
    throw;
  }
  at::removeCallback(handle);
  active_counter = nullptr;
  return counter.macs;
}

ModelSummary describe_model(torch::nn::Module& model,
                            const std::function<void(const torch::Tensor&)>& forward,
                            std::vector<std::int64_t> input_shape, std::int64_t images_per_input,
                            int max_depth) {
  ModelSummary summary;
  add_rows(model, "", 0, max_depth, summary.rows);
  for (const auto& parameter : model.parameters(/*recurse=*/true)) {
    summary.parameters += parameter.numel();
    if (parameter.requires_grad()) summary.trainable_parameters += parameter.numel();
  }
  const bool was_training = model.is_training();
  model.eval();
  torch::Device device = torch::kCPU;
  if (const auto parameters = model.parameters(); !parameters.empty()) device = parameters.front().device();
  {
    torch::NoGradGuard no_grad;
    const auto input = torch::zeros(input_shape, torch::TensorOptions().device(device));
    summary.macs_per_image = count_macs([&] { forward(input); }) / std::max<std::int64_t>(images_per_input, 1);
  }
  model.train(was_training);
  summary.input_shape = std::move(input_shape);
  return summary;
}

ModelSummary describe_model(ReidModuleImpl& model, std::int64_t height, std::int64_t width,
                            std::int64_t frames, int max_depth) {
  std::vector<std::int64_t> shape = frames > 0 ? std::vector<std::int64_t>{1, frames, 3, height, width}
                                               : std::vector<std::int64_t>{1, 3, height, width};
  return describe_model(
      model, [&](const torch::Tensor& input) { model.forward(input); }, std::move(shape),
      std::max<std::int64_t>(frames, 1), max_depth);
}

std::string format_summary(const ModelSummary& summary) {
  std::string text;
  std::size_t width = 0;
  for (const auto& row : summary.rows)
    width = std::max(width, 2 * static_cast<std::size_t>(row.depth) + (row.name.empty() ? 5 : row.name.size()));
  for (const auto& row : summary.rows) {
    const std::string label = std::string(2 * static_cast<std::size_t>(row.depth), ' ') +
                              (row.name.empty() ? "model" : row.name);
    text += fmt::format("{:<{}}  {:>12}  {}\n", label, width, with_commas(row.parameters), row.type);
  }
  std::string shape;
  for (auto s : summary.input_shape) {
    if (!shape.empty()) shape += 'x';
    shape += std::to_string(s);
  }
  text += fmt::format("parameters: {} ({:.2f} M), trainable {}\n", with_commas(summary.parameters),
                      summary.parameters / 1e6, with_commas(summary.trainable_parameters));
  text += fmt::format("multiply-accumulates per image at {}: {} ({:.3f} GMACs; FLOPs ~ 2 x MACs)\n",
                      shape, with_commas(summary.macs_per_image), summary.macs_per_image / 1e9);
  return text;
}

}  // namespace fgreid::models
