#pragma once
#include <fgreid/options.hpp>

#include <concepts>
#include <string_view>

namespace fgreid {

/// @brief A concept matching every policy: a named value type with reflected Options.
/// Satisfied by types with `static constexpr std::string_view name` (the --help group title)
/// and a nested `Options` aggregate listed with FGREID_REFLECT.
template <class P>
concept Policy = requires {
  { P::name } -> std::convertible_to<std::string_view>;
} && ReflectedOptions<typename P::Options>;

}  // namespace fgreid
