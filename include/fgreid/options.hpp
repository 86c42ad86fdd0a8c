#pragma once
// Policy Options: plain aggregates with a `///` line per field, reflected with Hana.
//
//   struct Options {
//     /// Label-smoothing ε of the target distribution.
//     double epsilon = 0.1;
//     FGREID_REFLECT(Options, epsilon);
//   };
//
// A field may itself be an Options aggregate: its fields become flags of their own, flattened
// into the parent's (so a group shared by several policies, such as ValidationOptions, is
// declared once):
//
//   struct Options {
//     /// Which split of the release.
//     int split_index = 0;
//     /// The validation split (--validation, --validation-seed).
//     datasets::ValidationOptions held_out;
//     FGREID_REFLECT(Options, split_index, held_out);
//   };
//
// The `///` lines are the documentation *and* the `--help` text: the build extracts them
// (scripts/extract_option_docs.py) into a table that `option_doc()` reads, and a test
// checks that every reflected field of every policy has one.
#include <boost/hana/accessors.hpp>
#include <boost/hana/drop_back.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/detail/struct_macros.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/ext/std/integer_sequence.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>

#include <concepts>
#include <string_view>
#include <type_traits>

namespace fgreid {

/// @brief A concept matching Options aggregates the CLI can be generated from.
/// Satisfied by default-constructible structs whose fields are listed with FGREID_REFLECT.
template <class O>
concept ReflectedOptions = std::default_initializable<O> && std::copyable<O> &&
                           boost::hana::Struct<O>::value;

/// @brief A concept matching Options aggregates that name their own --help group.
/// Satisfied by reflected Options with `static constexpr std::string_view flag_group`: nested
/// in another group, their flags still appear under this heading.
template <class O>
concept NamedOptionGroup = ReflectedOptions<O> && requires {
  { O::flag_group } -> std::convertible_to<std::string_view>;
};

/// Calls `f(name, field)` for every reflected field of `options`, in declaration order.
template <ReflectedOptions O, class F>
constexpr void for_each_option(O& options, F&& f) {
  boost::hana::for_each(boost::hana::accessors<O>(), [&](auto pair) {
    f(std::string_view{boost::hana::to<char const*>(boost::hana::first(pair))},
      boost::hana::second(pair)(options));
  });
}

}  // namespace fgreid

// Outside namespace fgreid on purpose: GCC spells __PRETTY_FUNCTION__'s types relative to the
// function's own namespace, and the docs table needs fully qualified names.
namespace fgreid_type_names {
template <class T>
constexpr std::string_view of() {
  std::string_view s = __PRETTY_FUNCTION__;
  auto begin = s.find("T = ") + 4;
  auto end = s.find_first_of(";]", begin);
  return s.substr(begin, end - begin);
}
}  // namespace fgreid_type_names

namespace fgreid {
/// The qualified name of T, e.g. `fgreid::losses::Triplet::Options`: the key under which the
/// extracted `///` docs of T's fields are stored (template arguments are ignored there).
template <class T>
constexpr std::string_view type_name() {
  return fgreid_type_names::of<T>();
}
}  // namespace fgreid

#define FGREID_DETAIL_NAME(r, data, i, field) BOOST_PP_STRINGIZE(field),
#define FGREID_DETAIL_ACCESSOR(r, TYPE, i, field)                                         \
  ::boost::hana::make_pair(                                                               \
      ::boost::hana::struct_detail::prepare_member_name<i, member_names>(),               \
      ::boost::hana::struct_detail::member_ptr<decltype(&TYPE::field), &TYPE::field>{}),

/// Reflects the listed fields of the enclosing aggregate TYPE (write it last in the struct).
#define FGREID_REFLECT(TYPE, ...)                                                         \
  struct hana_accessors_impl {                                                            \
    static constexpr auto apply() {                                                       \
      struct member_names {                                                               \
        static constexpr auto get() {                                                     \
          return ::boost::hana::make_tuple(BOOST_PP_SEQ_FOR_EACH_I(                       \
              FGREID_DETAIL_NAME, _, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__)) 0);           \
        }                                                                                 \
      };                                                                                  \
      return ::boost::hana::drop_back(::boost::hana::make_tuple(BOOST_PP_SEQ_FOR_EACH_I(  \
          FGREID_DETAIL_ACCESSOR, TYPE, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__)) 0));       \
    }                                                                                     \
  }

/// For a policy without knobs.
#define FGREID_REFLECT_NOTHING()                                                          \
  struct hana_accessors_impl {                                                            \
    static constexpr auto apply() { return ::boost::hana::make_tuple(); }                 \
  }
