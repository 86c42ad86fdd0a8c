#pragma once
#include <string_view>
#include <vector>

namespace fgreid::detail {

struct OptionDoc {
  std::string_view owner;  ///< qualified struct name without template arguments
  std::string_view field;
  std::string_view doc;
};

/// Every documented struct field of fgreid's headers and recipes (generated at build time).
const std::vector<OptionDoc>& option_docs();

/// The `///` text of `owner::field`; `owner` may carry template arguments, they are ignored.
std::string_view option_doc(std::string_view owner, std::string_view field);

}  // namespace fgreid::detail
