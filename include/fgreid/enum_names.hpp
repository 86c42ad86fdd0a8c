#pragma once
// The names of an enum's values, for flags, --help and config.json. Specialise it beside the
// enum, in the enum's own header:
//
//   enum class Device { automatic, cpu, cuda };
//   template <> struct EnumNames<Device> {
//     static constexpr std::array<std::string_view, 3> values{"auto", "cpu", "cuda"};
//   };
//
// values[i] names the enumerator whose value is i.
#include <array>
#include <string_view>

namespace fgreid {

template <class E>
struct EnumNames;

}  // namespace fgreid
