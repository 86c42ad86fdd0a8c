#include <fgreid/cli/flags.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <fstream>

namespace {

enum class Colour { red, green };

struct Knobs {
  double lr = 0.1;
  int batch_p = 16;
  bool verbose = false;
  std::vector<int> milestones = {40, 70};
  Colour colour = Colour::red;
  std::filesystem::path data_root;
  FGREID_REFLECT(Knobs, lr, batch_p, verbose, milestones, colour, data_root);
};

struct OtherKnobs {
  int batch_p = 16;
  FGREID_REFLECT(OtherKnobs, batch_p);
};

struct Clash {
  double batch_p = 1.5;
  FGREID_REFLECT(Clash, batch_p);
};

/// A group of its own heading, nested below.
struct Held {
  static constexpr std::string_view flag_group = "held out";
  double validation = 0.0;
  std::int64_t validation_seed = 1;
  FGREID_REFLECT(Held, validation, validation_seed);
};

struct Nested {
  int split_index = 0;
  OtherKnobs sampler;  // no heading of its own: its flags join the parent's group
  Held held_out;
  FGREID_REFLECT(Nested, split_index, sampler, held_out);
};

int parse(fgreid::cli::CommandLine& cli, std::vector<std::string> args) {
  std::vector<const char*> argv{"prog"};
  for (auto& a : args) argv.push_back(a.c_str());
  return cli.parse(static_cast<int>(argv.size()), argv.data()) ? 1 : 0;
}

}  // namespace

template <>
struct fgreid::EnumNames<Colour> {
  static constexpr std::array<std::string_view, 2> values{"red", "green"};
};

TEST_CASE("a nested Options group flattens into flags of its own fields") {
  Nested nested;
  fgreid::cli::CommandLine cli("prog", "");
  fgreid::cli::add_flags(cli, "dataset", nested);
  REQUIRE(cli.flags().size() == 4);
  CHECK(cli.flags()[0].name == "split-index");
  CHECK(cli.flags()[1].name == "batch-p");
  CHECK(cli.flags()[1].group == "dataset");
  CHECK(cli.flags()[2].name == "validation");
  CHECK(cli.flags()[2].group == "held out");
  CHECK(cli.flags()[3].name == "validation-seed");
  CHECK(cli.flags()[3].default_text == "1");
  parse(cli, {"--validation", "0.25", "--validation-seed", "4", "--batch-p", "8"});
  CHECK(nested.held_out.validation == 0.25);
  CHECK(nested.held_out.validation_seed == 4);
  CHECK(nested.sampler.batch_p == 8);
  CHECK(nested.split_index == 0);
}

TEST_CASE("every reflected field becomes a typed flag") {
  Knobs knobs;
  fgreid::cli::CommandLine cli("prog", "");
  fgreid::cli::add_flags(cli, "knobs", knobs);
  REQUIRE(cli.flags().size() == 6);
  CHECK(cli.flags()[1].name == "batch-p");
  CHECK(cli.flags()[3].default_text == "40,70");

  SUBCASE("values of each type are parsed into the options") {
    parse(cli, {"--lr", "0.25", "--batch-p=8", "--verbose", "--milestones", "10,20,30",
                "--colour", "green", "--data-root", "/data/market"});
    CHECK(knobs.lr == 0.25);
    CHECK(knobs.batch_p == 8);
    CHECK(knobs.verbose);
    CHECK(knobs.milestones == std::vector<int>{10, 20, 30});
    CHECK(knobs.colour == Colour::green);
    CHECK(knobs.data_root == "/data/market");
    CHECK(cli.was_set("lr"));
    CHECK_FALSE(cli.was_set("nothing"));
  }
  SUBCASE("an unknown flag is a usage error naming it") {
    CHECK_THROWS_WITH_AS(parse(cli, {"--lrr", "1"}), doctest::Contains("lrr"), fgreid::UsageError);
  }
  SUBCASE("a stray word is a usage error, not ignored") {
    CHECK_THROWS_WITH_AS(parse(cli, {"--lr", "0.1", "market"}),
                         "unexpected word 'market': neither a --flag nor the value of one",
                         fgreid::UsageError);
    CHECK_THROWS_WITH_AS(parse(cli, {"alone"}), doctest::Contains("'alone'"), fgreid::UsageError);
    CHECK_THROWS_WITH_AS(parse(cli, {"--verbose", "--lr", "0.1", "x", "y"}),
                         doctest::Contains("'x'"), fgreid::UsageError);
  }
  SUBCASE("a bad value is a usage error naming the flag and the value") {
    CHECK_THROWS_WITH_AS(parse(cli, {"--batch-p", "many"}), doctest::Contains("--batch-p many"),
                         fgreid::UsageError);
    CHECK_THROWS_WITH_AS(parse(cli, {"--colour", "blue"}), doctest::Contains("red|green"),
                         fgreid::UsageError);
    CHECK_THROWS_AS(parse(cli, {"--lr", "1.5x"}), fgreid::UsageError);
  }
  SUBCASE("a NaN or infinite number is a usage error: no flag means either") {
    for (const char* value : {"nan", "inf", "-inf", "NaN", "1e999"}) {
      CAPTURE(value);
      CHECK_THROWS_WITH_AS(parse(cli, {"--lr", value}), doctest::Contains("--lr"), fgreid::UsageError);
    }
  }
  SUBCASE("--help prints every flag with its default and returns false") {
    CHECK(parse(cli, {"--help"}) == 0);
    CHECK(cli.help().find("--milestones int,int,...  (default: 40,70)") != std::string::npos);
  }
}

TEST_CASE("a config file section supplies flags and the command line wins") {
  fgreid::test::TempDir dir;
  {
    std::ofstream ini(dir / "recipe.ini");
    ini << "# comment\nlr = 0.5\n[market]\nbatch_p = 4\nlr: 0.01\n[other]\nbatch-p = 2\n";
  }
  Knobs knobs;
  fgreid::cli::CommandLine cli("prog", "");
  fgreid::cli::add_flags(cli, "knobs", knobs);
  const auto file = (dir / "recipe.ini").string();

  SUBCASE("the chosen section, command line over file") {
    parse(cli, {"--config", file, "--opt", "market", "--lr", "0.2"});
    CHECK(knobs.batch_p == 4);
    CHECK(knobs.lr == 0.2);
    CHECK(cli.was_set("batch-p"));
  }
  SUBCASE("without --opt, the keys before any section") {
    parse(cli, {"--config", file});
    CHECK(knobs.lr == 0.5);
    CHECK(knobs.batch_p == 16);
  }
  SUBCASE("a missing section, a missing file and an unknown key are usage errors") {
    CHECK_THROWS_WITH_AS(parse(cli, {"--config", file, "--opt", "duke"}),
                         doctest::Contains("[duke]"), fgreid::UsageError);
    CHECK_THROWS_WITH_AS(parse(cli, {"--config", (dir / "none.ini").string()}),
                         doctest::Contains("none.ini"), fgreid::UsageError);
    {
      std::ofstream ini(dir / "bad.ini");
      ini << "lr = 1\nmomentum = 0.9\n";
    }
    CHECK_THROWS_WITH_AS(parse(cli, {"--config", (dir / "bad.ini").string()}),
                         doctest::Contains("bad.ini:2: unknown option 'momentum'"),
                         fgreid::UsageError);
  }
  SUBCASE("a folder is not read as an empty config file") {
    CHECK_THROWS_WITH_AS(parse(cli, {"--config", dir.path().string()}),
                         doctest::Contains(("--config " + dir.path().string() + ": is a folder").c_str()),
                         fgreid::UsageError);
  }
}

TEST_CASE("two policies sharing a knob share one flag; conflicting ones are refused") {
  Knobs knobs;
  OtherKnobs other;
  fgreid::cli::CommandLine cli("prog", "");
  fgreid::cli::add_flags(cli, "knobs", knobs);
  fgreid::cli::add_flags(cli, "other", other);
  parse(cli, {"--batch-p", "6"});
  CHECK(knobs.batch_p == 6);
  CHECK(other.batch_p == 6);

  Clash clash;
  CHECK_THROWS_AS(fgreid::cli::add_flags(cli, "clash", clash), std::logic_error);
}
