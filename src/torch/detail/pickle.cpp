#include <fgreid/detail/pickle.hpp>
#include <fgreid/error.hpp>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <optional>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <variant>

namespace fgreid::detail {

std::string pickle_untagged(const c10::IValue& value) {
  std::vector<char> pickle_bytes;
  torch::jit::Pickler pickler(
      [&](const char* data, std::size_t size) {
        pickle_bytes.insert(pickle_bytes.end(), data, data + size);
      },
      /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
      /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();

  std::string archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) {
    archive.append(static_cast<const char*>(data), size);
    return size;
  });
  torch::jit::writeArchiveAndTensors("data", pickle_bytes.data(), pickle_bytes.size(),
                                     pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return archive;
}

namespace {

// --- a Python object model just large enough for torch.save's state dicts -------------------

struct Object;
using Ref = std::shared_ptr<Object>;

struct Global {
  std::string module, name;
  [[nodiscard]] std::string qualified() const { return module + "." + name; }
};
struct Tuple {
  std::vector<Ref> items;
};
struct List {
  std::vector<Ref> items;
};
struct Dict {
  std::vector<std::pair<Ref, Ref>> items;
};
/// Anything else allowed (numpy scalars, sets, ...): kept as a placeholder so that
/// the tensors beside it still load.
struct Opaque {
  std::string what;
};
struct None {};

struct Object {
  std::variant<None, bool, std::int64_t, double, std::string, Global, Tuple, List, Dict, Opaque,
               torch::Tensor>
      value;
};

template <class T>
T* as(const Ref& ref) {
  return ref ? std::get_if<T>(&ref->value) : nullptr;
}

c10::ScalarType storage_dtype(const std::string& name) {
  static const std::map<std::string, c10::ScalarType> kinds = {
      {"DoubleStorage", torch::kDouble},   {"FloatStorage", torch::kFloat},
      {"HalfStorage", torch::kHalf},       {"BFloat16Storage", torch::kBFloat16},
      {"LongStorage", torch::kLong},       {"IntStorage", torch::kInt},
      {"ShortStorage", torch::kShort},     {"CharStorage", torch::kChar},
      {"ByteStorage", torch::kByte},       {"BoolStorage", torch::kBool},
      {"ComplexFloatStorage", torch::kComplexFloat},
      {"ComplexDoubleStorage", torch::kComplexDouble}};
  auto found = kinds.find(name);
  return found == kinds.end() ? c10::ScalarType::Undefined : found->second;
}

/// The globals torch.load(weights_only=True) allows (torch/_weights_only_unpickler.py's
/// _get_allowed_globals), less those only sparse and quantized tensors need, plus numpy's
/// scalars.
bool is_allowed_global(const Global& global) {
  static const std::set<std::string> allowed = {
      "collections.OrderedDict", "collections.Counter", "builtins.set", "builtins.bytearray",
      "builtins.complex", "_codecs.encode", "torch.Size", "torch.device", "torch.Tensor",
      "torch.nn.parameter.Parameter", "torch._utils._rebuild_tensor",
      "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
      "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
      "torch._tensor._rebuild_from_type_v2",
      // Beyond torch's list: numpy scalars and their dtypes, which torchreid-style checkpoints
      // hold ({'rank1': np.float64(...)}). Harmless here, as nothing a pickle names is ever
      // called: they stay placeholders beside the tensors.
      "numpy.dtype", "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
      // LibTorch's torch::pickle_save tags each dict and list with it; REDUCE returns the
      // tagged object unchanged.
      "torch.jit._pickle.restore_type_tag"};
  if (allowed.contains(global.qualified())) return true;
  if (global.module != "torch") return false;
  return storage_dtype(global.name) != c10::ScalarType::Undefined ||  // torch.FloatStorage
         c10::getStringToDtypeMap().contains(global.name);             // torch.float32
}

class Unpickler {
 public:
  /// `file_size` bounds every record the pickle may make us read (torch.save stores them
  /// uncompressed): a zip header that claims more is refused before anything is allocated.
  Unpickler(caffe2::serialize::PyTorchStreamReader& reader, std::string source,
            std::size_t file_size)
      : reader_(reader), source_(std::move(source)), file_size_(file_size) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  /// A pickle may build containers that hold themselves (a memoized list appended to itself)
  /// or nest a million deep (TUPLE1 after TUPLE1): shared pointers would leak the first and
  /// recurse through the second's destructors until the stack overflows. So every object's
  /// children are detached here, all at one level, before any is freed.
  ~Unpickler() {
    std::vector<Ref> detached;
    for (const auto& made : made_)
      if (Ref object = made.lock()) detach_children(*object, detached);
  }

  Ref run(const std::string& pickle) {
    data_ = &pickle;
    pos_ = 0;
    while (true) {
      const auto op = static_cast<std::uint8_t>(byte());
      if (op == '.') break;  // STOP
      step(op);
    }
    if (stack_.size() != 1) fail("malformed pickle (stack holds {} objects at STOP)", stack_.size());
    return stack_.back();
  }

 private:
  template <class... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw DataError(fmt::format("{}: {}", source_, fmt::format(format, std::forward<Args>(args)...)));
  }

  Ref make(auto value) {
    auto object = std::make_shared<Object>(Object{std::move(value)});
    made_.push_back(object);
    return object;
  }

  static void detach_children(Object& object, std::vector<Ref>& detached) {
    auto take = [&](std::vector<Ref>& items) {
      std::ranges::move(items, std::back_inserter(detached));
      items.clear();
    };
    if (auto* tuple = std::get_if<Tuple>(&object.value)) take(tuple->items);
    if (auto* list = std::get_if<List>(&object.value)) take(list->items);
    if (auto* dict = std::get_if<Dict>(&object.value)) {
      for (auto& [key, value] : dict->items) {
        detached.push_back(std::move(key));
        detached.push_back(std::move(value));
      }
      dict->items.clear();
    }
  }

  /// The size of `record`, refused when it claims more bytes than the whole file has.
  std::size_t record_size(const std::string& record) {
    const std::size_t size = reader_.getRecordSize(record);
    if (size > file_size_)
      fail("record '{}' claims {} bytes, more than the file's {} (a damaged or hostile zip "
           "header)", record, size, file_size_);
    return size;
  }

  char byte() {
    if (pos_ >= data_->size()) fail("truncated pickle");
    return (*data_)[pos_++];
  }
  std::string bytes(std::size_t n) {
    if (n > data_->size() - pos_) fail("truncated pickle");  // never pos_ + n: it can wrap
    std::string out = data_->substr(pos_, n);
    pos_ += n;
    return out;
  }
  template <class T>
  T little_endian() {
    T value{};
    auto raw = bytes(sizeof(T));
    std::memcpy(&value, raw.data(), sizeof(T));
    return value;
  }
  std::string line() {
    auto end = data_->find('\n', pos_);
    if (end == std::string::npos) fail("truncated pickle");
    std::string out = data_->substr(pos_, end - pos_);
    pos_ = end + 1;
    return out;
  }

  Ref pop() {
    if (stack_.empty() || stack_.size() <= (marks_.empty() ? 0 : marks_.back()))
      fail("malformed pickle (pop from an empty stack)");
    Ref top = stack_.back();
    stack_.pop_back();
    return top;
  }
  std::vector<Ref> pop_to_mark() {
    if (marks_.empty()) fail("malformed pickle (no MARK)");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  void memoize(std::size_t index) { memo_[index] = top(); }
  void recall(std::size_t index) {
    auto found = memo_.find(index);
    if (found == memo_.end()) fail("malformed pickle (memo entry {} unset)", index);
    stack_.push_back(found->second);
  }

  Ref& top() {
    if (stack_.empty()) fail("malformed pickle (empty stack)");
    return stack_.back();
  }

  void set_items(const Ref& target, const std::vector<Ref>& items) {
    auto* dict = as<Dict>(target);
    if (dict == nullptr) return;  // items of an opaque object: not needed
    if (items.size() % 2 != 0) fail("malformed pickle (odd SETITEMS)");
    for (std::size_t i = 0; i < items.size(); i += 2) dict->items.emplace_back(items[i], items[i + 1]);
  }

  void step(std::uint8_t op) {
    switch (op) {
      case 0x80: byte(); break;                        // PROTO
      case 0x95: bytes(8); break;                      // FRAME
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case 'N': stack_.push_back(make(None{})); break;
      case 0x88: stack_.push_back(make(true)); break;   // NEWTRUE
      case 0x89: stack_.push_back(make(false)); break;  // NEWFALSE
      case 'K': stack_.push_back(make(std::int64_t{static_cast<std::uint8_t>(byte())})); break;
      case 'M': stack_.push_back(make(std::int64_t{little_endian<std::uint16_t>()})); break;
      case 'J': stack_.push_back(make(std::int64_t{little_endian<std::int32_t>()})); break;
      case 0x8a: {  // LONG1
        const auto n = static_cast<std::uint8_t>(byte());
        auto raw = bytes(n);
        if (n > 8) fail("integer of {} bytes is too large", n);
        std::int64_t value = 0;
        for (std::size_t i = 0; i < n; ++i)
          value |= static_cast<std::int64_t>(static_cast<std::uint8_t>(raw[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<std::uint8_t>(raw[n - 1]) & 0x80))
          value -= std::int64_t{1} << (8 * n);  // sign-extend
        stack_.push_back(make(value));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        auto raw = bytes(8);
        std::uint64_t bits = 0;
        for (char c : raw) bits = (bits << 8) | static_cast<std::uint8_t>(c);
        double value;
        std::memcpy(&value, &bits, sizeof value);
        stack_.push_back(make(value));
        break;
      }
      case 'X': stack_.push_back(make(bytes(little_endian<std::uint32_t>()))); break;
      case 0x8c: stack_.push_back(make(bytes(static_cast<std::uint8_t>(byte())))); break;
      case 0x8d: stack_.push_back(make(bytes(little_endian<std::uint64_t>()))); break;
      case 'T': stack_.push_back(make(bytes(little_endian<std::uint32_t>()))); break;  // BINSTRING
      case 'U': stack_.push_back(make(bytes(static_cast<std::uint8_t>(byte())))); break;
      case 'B': stack_.push_back(make(bytes(little_endian<std::uint32_t>()))); break;  // BINBYTES
      case 'C': stack_.push_back(make(bytes(static_cast<std::uint8_t>(byte())))); break;
      case 'q': memoize(static_cast<std::uint8_t>(byte())); break;  // BINPUT
      case 'r': memoize(little_endian<std::uint32_t>()); break;      // LONG_BINPUT
      case 0x94: memoize(memo_.size()); break;                       // MEMOIZE
      case 'h': recall(static_cast<std::uint8_t>(byte())); break;   // BINGET
      case 'j': recall(little_endian<std::uint32_t>()); break;       // LONG_BINGET
      case ')': stack_.push_back(make(Tuple{})); break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        std::vector<Ref> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        stack_.push_back(make(Tuple{std::move(items)}));
        break;
      }
      case 't': stack_.push_back(make(Tuple{pop_to_mark()})); break;
      case ']': stack_.push_back(make(List{})); break;
      case 'l': stack_.push_back(make(List{pop_to_mark()})); break;
      case 'a': {  // APPEND
        Ref item = pop();
        if (auto* list = as<List>(top())) list->items.push_back(item);
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_to_mark();
        if (auto* list = as<List>(top()))
          list->items.insert(list->items.end(), items.begin(), items.end());
        break;
      }
      case '}': stack_.push_back(make(Dict{})); break;
      case 'd': {  // DICT
        Ref dict = make(Dict{});
        set_items(dict, pop_to_mark());
        stack_.push_back(dict);
        break;
      }
      case 's': {  // SETITEM
        Ref value = pop();
        Ref key = pop();
        set_items(top(), {key, value});
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_to_mark();
        set_items(top(), items);
        break;
      }
      case 0x8f: stack_.push_back(make(Opaque{"set"})); break;  // EMPTY_SET
      case 0x90: pop_to_mark(); break;                          // ADDITEMS
      case 'c': {  // GLOBAL
        std::string module = line();
        std::string name = line();
        push_global(Global{std::move(module), std::move(name)});
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Ref name = pop();
        Ref module = pop();
        auto* n = as<std::string>(name);
        auto* m = as<std::string>(module);
        if (n == nullptr || m == nullptr) fail("malformed pickle (STACK_GLOBAL of non-strings)");
        push_global(Global{*m, *n});
        break;
      }
      case 'R': {  // REDUCE
        Ref arguments = pop();
        Ref callable = pop();
        stack_.push_back(reduce(callable, arguments));
        break;
      }
      case 0x81: {  // NEWOBJ
        pop();
        Ref cls = pop();
        auto* global = as<Global>(cls);
        stack_.push_back(make(Opaque{global ? global->qualified() : "object"}));
        break;
      }
      case 'b': pop(); break;  // BUILD: an object's state (an OrderedDict's _metadata): unused
      case 'Q': {              // BINPERSID
        Ref id = pop();
        stack_.push_back(persistent_load(id));
        break;
      }
      default: fail("unsupported pickle opcode 0x{:02x} at byte {}", op, pos_ - 1);
    }
  }

  /// Only the globals torch.load(weights_only=True) allows are named at all: a pickle that
  /// names anything else (os.system, builtins.eval, a class of someone's code) is refused here,
  /// before it could be called or built.
  void push_global(Global global) {
    if (!is_allowed_global(global))
      fail("refuses the pickle global '{}': a weights file holds tensors, dtypes and "
           "containers only (what torch.load(weights_only=True) allows)",
           global.qualified());
    stack_.push_back(make(std::move(global)));
  }

  /// torch.save's persistent id: ('storage', torch.<Type>Storage, key, location, numel).
  Ref persistent_load(const Ref& id) {
    auto* tuple = as<Tuple>(id);
    if (tuple == nullptr || tuple->items.size() < 5 || as<std::string>(tuple->items[0]) == nullptr ||
        *as<std::string>(tuple->items[0]) != "storage")
      fail("unsupported persistent id (not a tensor storage)");
    auto* type = as<Global>(tuple->items[1]);
    auto* key = as<std::string>(tuple->items[2]);
    auto* numel = as<std::int64_t>(tuple->items[4]);
    if (type == nullptr || key == nullptr || numel == nullptr) fail("malformed storage record");
    const auto dtype = storage_dtype(type->name);
    if (dtype == c10::ScalarType::Undefined)
      fail("unsupported storage type {}", type->qualified());
    if (auto cached = storages_.find(*key); cached != storages_.end()) return cached->second;
    const std::string record = "data/" + *key;
    if (!reader_.hasRecord(record)) fail("no record '{}' for a tensor", record);
    // Checked before allocating, so that memory stays bounded by the file's own size.
    const std::size_t size = record_size(record);
    const auto element = c10::elementSize(dtype);
    if (*numel < 0 || static_cast<std::uint64_t>(*numel) > size / element)
      fail("record '{}' holds {} bytes, not the {} elements of {} bytes its tensor claims", record,
           size, *numel, element);
    auto storage = torch::empty({*numel}, torch::TensorOptions().dtype(dtype));
    const auto expected = static_cast<std::size_t>(storage.nbytes());
    if (expected > 0) reader_.getRecord(record, storage.data_ptr(), expected);
    Ref object = make(storage);
    storages_.emplace(*key, object);
    return object;
  }

  std::vector<std::int64_t> integers(const Ref& ref, std::string_view what) {
    auto* tuple = as<Tuple>(ref);
    if (tuple == nullptr) fail("malformed tensor record ({} is not a tuple)", what);
    std::vector<std::int64_t> out;
    for (const auto& item : tuple->items) {
      auto* value = as<std::int64_t>(item);
      if (value == nullptr) fail("malformed tensor record ({} holds a non-integer)", what);
      out.push_back(*value);
    }
    return out;
  }

  /// A view (offset, sizes, strides) lies inside a storage of `numel` elements; computed in
  /// 128 bits, since hostile values overflow 64.
  void check_view_inside(std::int64_t offset, const std::vector<std::int64_t>& sizes,
                         const std::vector<std::int64_t>& strides, std::int64_t numel) {
    if (offset < 0) fail("tensor record has a negative storage offset {}", offset);
    for (std::size_t i = 0; i < sizes.size(); ++i)
      if (sizes[i] < 0 || strides[i] < 0)
        fail("tensor record has a negative size or stride ({}, {})", sizes[i], strides[i]);
    if (std::ranges::find(sizes, 0) != sizes.end()) return;  // an empty view reads nothing
    // In 128 bits and stopping at the first step past the end: hostile values overflow 64.
    __int128 last = offset;
    for (std::size_t i = 0; i < sizes.size() && last < numel; ++i)
      last += static_cast<__int128>(sizes[i] - 1) * strides[i];
    if (last >= numel) fail("tensor record reaches past its storage of {} elements", numel);
  }

  Ref reduce(const Ref& callable, const Ref& arguments) {
    auto* global = as<Global>(callable);
    auto* tuple = as<Tuple>(arguments);
    if (global == nullptr || tuple == nullptr) return make(Opaque{"call"});
    const std::string name = global->qualified();
    const auto& args = tuple->items;
    if (name == "collections.OrderedDict" || name == "builtins.dict") return make(Dict{});
    if (name == "torch.jit._pickle.restore_type_tag" && !args.empty()) return args[0];
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (args.size() < 4) fail("malformed tensor record ({} arguments)", args.size());
      auto* storage = as<torch::Tensor>(args[0]);
      auto* offset = as<std::int64_t>(args[1]);
      if (storage == nullptr || offset == nullptr) fail("malformed tensor record");
      const auto sizes = integers(args[2], "size");
      const auto strides = integers(args[3], "stride");
      if (sizes.size() != strides.size()) fail("malformed tensor record (size and stride ranks)");
      // Bounded by the storage's bytes: the tensor passed may itself be a view whose numel
      // (a stride-0 expand) says nothing about the memory behind it.
      check_view_inside(*offset, sizes, strides,
                        static_cast<std::int64_t>(storage->storage().nbytes() / storage->itemsize()));
      auto tensor = torch::empty({0}, storage->options());
      tensor.set_(storage->storage(), *offset, sizes, strides);
      return make(tensor);
    }
    if (name == "torch._utils._rebuild_parameter" ||
        name == "torch._utils._rebuild_parameter_with_state") {
      if (args.empty() || as<torch::Tensor>(args[0]) == nullptr) fail("malformed parameter record");
      return args[0];
    }
    return make(Opaque{name});
  }

  caffe2::serialize::PyTorchStreamReader& reader_;
  std::string source_;
  std::size_t file_size_;
  std::vector<std::weak_ptr<Object>> made_;
  const std::string* data_ = nullptr;
  std::size_t pos_ = 0;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::size_t, Ref> memo_;
  std::unordered_map<std::string, Ref> storages_;
};

/// The string -> tensor entries of `dict` (nullopt when it has a non-string key).
std::optional<NamedTensors> tensors_of(const Dict& dict) {
  NamedTensors out;
  for (const auto& [key, value] : dict.items) {
    auto* name = as<std::string>(key);
    if (name == nullptr) return std::nullopt;
    if (auto* tensor = as<torch::Tensor>(value)) out.emplace_back(*name, *tensor);
  }
  return out;
}

/// The tensors of the dict `root` is, or of its first inner dict that holds some (a checkpoint
/// dict: {"state_dict": {...}, "epoch": ..., ...}).
NamedTensors tensors_in(const Ref& root, const std::string& where) {
  auto* dict = as<Dict>(root);
  if (dict == nullptr) throw DataError(fmt::format("{}: holds no dict of tensors", where));
  auto tensors = tensors_of(*dict);
  if (tensors && !tensors->empty()) return *tensors;
  for (const auto& [key, value] : dict->items) {
    if (auto* inner = as<Dict>(value)) {
      auto inner_tensors = tensors_of(*inner);
      if (inner_tensors && !inner_tensors->empty()) return *inner_tensors;
    }
  }
  throw DataError(fmt::format("{}: holds no tensors under string keys", where));
}

}  // namespace

namespace {

/// Why a file that LibTorch's zip reader rejects is not readable, from its first bytes.
std::string unreadable_reason(const std::filesystem::path& file, const c10::Error& error) {
  std::ifstream in(file, std::ios::binary);
  char magic[2] = {0, 0};
  in.read(magic, 2);
  const auto reason = library_reason(error.what_without_backtrace());
  if (magic[0] == 'P' && magic[1] == 'K')
    return fmt::format("a damaged or truncated zip archive ({})", reason);
  if (static_cast<unsigned char>(magic[0]) == 0x80)  // a bare pickle: torch < 1.6's format
    return "a torch.save file in the format of torch < 1.6 (or _use_new_zipfile_serialization="
           "False); re-save it with a current torch.save";
  return fmt::format("not a torch.save file ({})", reason);
}

}  // namespace

namespace {

/// What kind of Python value `object` is, for messages ("list", "None", ...).
std::string kind_of(const Ref& object) {
  return std::visit(
      [](const auto& value) -> std::string {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, None>) return "None";
        else if constexpr (std::is_same_v<T, bool>) return "bool";
        else if constexpr (std::is_same_v<T, std::int64_t>) return "int";
        else if constexpr (std::is_same_v<T, double>) return "float";
        else if constexpr (std::is_same_v<T, std::string>) return "str";
        else if constexpr (std::is_same_v<T, Global>) return value.qualified();
        else if constexpr (std::is_same_v<T, Tuple>) return "tuple";
        else if constexpr (std::is_same_v<T, List>) return "list";
        else if constexpr (std::is_same_v<T, Dict>) return "dict";
        else if constexpr (std::is_same_v<T, Opaque>) return value.what;
        else return "Tensor";
      },
      object->value);
}

/// Unpickles the data.pkl of the zip-format torch.save `file` and hands its root object to
/// `use` while the objects live; returns what `use` returns.
template <class Use>
auto read_pickle(const std::filesystem::path& file, Use&& use) {
  const std::string where = file.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error))
    throw DataError(fmt::format("{}: no such file", where));
  const auto file_size = static_cast<std::size_t>(std::filesystem::file_size(file, error));
  // Every read of the archive, the unpickler's record reads included, is inside this try: a
  // library error about a hostile or torn file becomes one line naming it.
  try {
    caffe2::serialize::PyTorchStreamReader reader(where);
    if (!reader.hasRecord("data.pkl"))
      throw DataError(fmt::format("{}: a zip archive without data.pkl, not a torch.save file", where));
    Unpickler unpickler(reader, where, file_size);
    if (reader.hasRecord("byteorder")) {
      if (reader.getRecordSize("byteorder") > 16)
        throw DataError(fmt::format("{}: a byteorder record of {} bytes", where,
                                    reader.getRecordSize("byteorder")));
      auto [data, size] = reader.getRecord("byteorder");
      if (std::string(static_cast<const char*>(data.get()), size) != "little")
        throw DataError(fmt::format("{}: written on a big-endian machine", where));
    }
    if (reader.getRecordSize("data.pkl") > file_size)
      throw DataError(fmt::format("{}: record 'data.pkl' claims {} bytes, more than the file's "
                                  "{} (a damaged or hostile zip header)",
                                  where, reader.getRecordSize("data.pkl"), file_size));
    auto [data, size] = reader.getRecord("data.pkl");
    const std::string pickle(static_cast<const char*>(data.get()), size);
    const Ref root = unpickler.run(pickle);
    return use(root, where);
  } catch (const c10::Error& error) {
    throw DataError(fmt::format("{}: {}", where, unreadable_reason(file, error)));
  }
}

}  // namespace

NamedTensors load_tensor_dict(const std::filesystem::path& file) {
  return read_pickle(file, [](const Ref& root, const std::string& where) {
    return tensors_in(root, where);
  });
}

std::vector<DictEntry> load_dict(const std::filesystem::path& file) {
  return read_pickle(file, [](const Ref& root, const std::string& where) {
    const auto* dict = as<Dict>(root);
    if (dict == nullptr)
      throw DataError(fmt::format("{}: holds a {}, not a dict", where, kind_of(root)));
    std::vector<DictEntry> entries;
    for (const auto& [key, value] : dict->items) {
      const auto* name = as<std::string>(key);
      if (name == nullptr) continue;
      const auto* tensor = as<torch::Tensor>(value);
      entries.push_back({*name, tensor != nullptr ? *tensor : torch::Tensor(), kind_of(value)});
    }
    return entries;
  });
}

}  // namespace fgreid::detail
