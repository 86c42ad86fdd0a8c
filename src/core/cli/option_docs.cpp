#include <fgreid/cli/option_docs.hpp>

#include <algorithm>
#include <string>

namespace fgreid::detail {

namespace {
// `a::B<c::D<e>>::Options` -> `a::B::Options`
std::string without_template_arguments(std::string_view name) {
  std::string out;
  int depth = 0;
  for (char c : name) {
    if (c == '<') ++depth;
    if (depth == 0) out += c;
    if (c == '>') --depth;
  }
  return out;
}
}  // namespace

std::string_view option_doc(std::string_view owner, std::string_view field) {
  const std::string key = without_template_arguments(owner);
  auto it = std::ranges::find_if(option_docs(), [&](const OptionDoc& d) {
    return d.owner == key && d.field == field;
  });
  return it == option_docs().end() ? std::string_view{} : it->doc;
}

}  // namespace fgreid::detail
