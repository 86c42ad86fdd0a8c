#pragma once
// Generates CLI flags from reflected Options: one flag per field, named after the field,
// documented by its `///` line, typed by its C++ type.
#include <fgreid/cli/command_line.hpp>
#include <fgreid/cli/option_docs.hpp>
#include <fgreid/enum_names.hpp>
#include <fgreid/error.hpp>
#include <fgreid/options.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

namespace fgreid {

namespace cli {

/// A C++ type a flag can hold.
template <class T>
struct FlagCodec;

template <>
struct FlagCodec<bool> {
  static constexpr std::string_view hint = "true|false";
  static bool parse(std::string_view s) {
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
    throw UsageError("expected true or false");
  }
  static std::string print(bool v) { return v ? "true" : "false"; }
};

template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
struct FlagCodec<T> {
  static constexpr std::string_view hint = "int";
  static T parse(std::string_view s) {
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) throw UsageError("expected an integer");
    return value;
  }
  static std::string print(T v) { return std::to_string(v); }
};

template <class T>
  requires std::is_floating_point_v<T>
struct FlagCodec<T> {
  static constexpr std::string_view hint = "float";
  static T parse(std::string_view s) {
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) throw UsageError("expected a number");
    // from_chars reads "nan" and "inf"; no flag means either (a NaN rate trains to NaN silently).
    if (!std::isfinite(value)) throw UsageError("expected a finite number");
    return value;
  }
  static std::string print(T v) { return fmt::format("{}", v); }
};

template <>
struct FlagCodec<std::string> {
  static constexpr std::string_view hint = "text";
  static std::string parse(std::string_view s) { return std::string{s}; }
  static std::string print(const std::string& v) { return v; }
};

template <>
struct FlagCodec<std::filesystem::path> {
  static constexpr std::string_view hint = "path";
  static std::filesystem::path parse(std::string_view s) { return std::filesystem::path{s}; }
  static std::string print(const std::filesystem::path& v) { return v.string(); }
};

template <class E>
  requires std::is_enum_v<E>
struct FlagCodec<E> {
  static constexpr auto& names = EnumNames<E>::values;
  static inline const std::string hint = fmt::format("{}", fmt::join(names, "|"));
  static E parse(std::string_view s) {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (s == names[i]) return static_cast<E>(i);
    throw UsageError(fmt::format("expected one of {}", hint));
  }
  static std::string print(E v) { return std::string{names[static_cast<std::size_t>(v)]}; }
};

template <class T>
struct FlagCodec<std::vector<T>> {
  static inline const std::string hint = fmt::format("{0},{0},...", FlagCodec<T>::hint);
  static std::vector<T> parse(std::string_view s) {
    std::vector<T> out;
    while (!s.empty()) {
      auto comma = s.find(',');
      out.push_back(FlagCodec<T>::parse(s.substr(0, comma)));
      s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    return out;
  }
  static std::string print(const std::vector<T>& v) {
    std::string out;
    for (const auto& x : v) {
      if (!out.empty()) out += ',';
      out += FlagCodec<T>::print(x);
    }
    return out;
  }
};

/// The flag of one field `value` of the Options aggregate O, writing into `value`.
template <ReflectedOptions O, class T>
Flag make_flag(std::string_view group, std::string_view field, T& value) {
  return Flag{
      .name = flag_name(field),
      .group = std::string{group},
      .doc = std::string{detail::option_doc(type_name<O>(), field)},
      .value_hint = std::string{FlagCodec<T>::hint},
      .default_text = FlagCodec<T>::print(value),
      .is_switch = std::is_same_v<T, bool>,
      .aliases = {},
      .assign = [&value](std::string_view text) { value = FlagCodec<T>::parse(text); },
  };
}

/// Adds one flag per reflected field of `options` to `cli`, under `group`; a field that is an
/// Options aggregate itself is flattened into its own fields (under its NamedOptionGroup's
/// group when it names one). The flags write into `options`, which must outlive parsing.
template <ReflectedOptions O>
void add_flags(CommandLine& cli, std::string_view group, O& options) {
  if constexpr (NamedOptionGroup<O>) group = O::flag_group;
  for_each_option(options, [&](std::string_view field, auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    if constexpr (ReflectedOptions<T>)
      add_flags(cli, group, value);
    else
      cli.add(make_flag<O>(group, field, value));
  });
}

/// Adds the flags of an Options aggregate that names its own --help group.
template <NamedOptionGroup O>
void add_flags(CommandLine& cli, O& options) {
  add_flags(cli, O::flag_group, options);
}

}  // namespace cli
}  // namespace fgreid
