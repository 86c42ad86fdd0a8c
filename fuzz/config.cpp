// The INI reader behind --config (read_ini) and the typed flags its values feed: a config file
// of integers, floats, booleans and enumerations, read with and without --opt SECTION.
#include <fgreid/cli/command_line.hpp>
#include <fgreid/cli/flags.hpp>
#include <fgreid/datasets/cuhk03.hpp>
#include <fgreid/samplers/options.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fgreid;
  const auto file = fuzz::write_file("config.ini", fuzz::as_text(data, size)).string();
  fuzz::expect_clean_errors([&] { (void)cli::read_ini(file); });
  for (const char* section : {static_cast<const char*>(nullptr), "train"}) {
    samplers::BatchOptions batch;
    samplers::ClipOptions clips;
    datasets::CUHK03::Options dataset;
    cli::CommandLine command_line("fuzz_config", "");
    cli::add_flags(command_line, "batch", batch);
    cli::add_flags(command_line, "clips", clips);
    cli::add_flags(command_line, "dataset", dataset);
    std::vector<const char*> argv = {"fuzz_config", "--config", file.c_str()};
    if (section != nullptr) argv.insert(argv.end(), {"--opt", section});
    fuzz::expect_clean_errors(
        [&] { (void)command_line.parse(static_cast<int>(argv.size()), argv.data()); });
  }
  return 0;
}
