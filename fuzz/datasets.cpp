// The datasets' file-name and list parsers: each release's image-name convention, the
// seed's frame-number rule, natural ordering, the whitespace list files (MSMT17, VeRi-style
// and VehicleID/VRIC lists), the custom layout's CSV lists and MARS' name lists with their
// tracklet rows. The first byte picks the parser; the rest is the name or the file.
#include <fgreid/datasets/cuhk01.hpp>
#include <fgreid/datasets/custom.hpp>
#include <fgreid/datasets/dukemtmc_video.hpp>
#include <fgreid/datasets/dukemtmcreid.hpp>
#include <fgreid/datasets/grid.hpp>
#include <fgreid/datasets/layout.hpp>
#include <fgreid/datasets/market1501.hpp>
#include <fgreid/datasets/msmt17.hpp>
#include <fgreid/datasets/veri776.hpp>

#include "access/access.hpp"
#include "fuzz_input.hpp"

namespace {

using namespace fgreid;

void parse_name(std::uint8_t parser, std::string_view name) {
  switch (parser) {
    case 0:
      if (auto market = datasets::parse_market_name(name))
        (void)datasets::market_global_frame(market->camera, market->sequence, market->frame);
      break;
    case 1: (void)datasets::parse_duke_name(name); break;
    case 2: (void)datasets::msmt17_camera(name); break;
    case 3: (void)datasets::parse_veri_name(name); break;
    case 4: (void)datasets::parse_grid_name(name); break;
    case 5: (void)datasets::parse_cuhk01_name(name); break;
    case 6: (void)datasets::parse_duke_video_name(name); break;
    case 7: (void)datasets::seed_name_frame(name, name.empty() ? 0 : name[0] % 8); break;
    default: {
      const auto cut = std::min(name.find('\0'), name.size());
      (void)datasets::natural_less(name.substr(0, cut), name.substr(std::min(cut + 1, name.size())));
    }
  }
}

void read_list_file(std::uint8_t parser, std::string_view text) {
  const auto list = fuzz::write_file("list.txt", text);
  switch (parser) {
    case 9:
    case 10: {  // MSMT17 / VehicleID (2 fields), VRIC (3 fields)
      const std::size_t fields = parser == 9 ? 2 : 3;
      for (const auto& line : datasets::read_list(list, fields, "name pid [camera]")) {
        for (std::size_t field = 1; field < fields; ++field)
          (void)datasets::list_integer(list, line, field, "a number");
        (void)datasets::listed_image(list, line, fuzz::scratch(), line.fields[0]);
      }
      break;
    }
    case 11: (void)datasets::read_csv(list, {"path", "pid", "camid", "[frame]"}); break;
    case 12: (void)datasets::read_csv(list, {"path", "pid", "camid", "tracklet"}); break;
    default: {  // MARS: the names, then up to 16 tracklet rows from the text's last bytes
      const auto rows = text.substr(text.size() - std::min<std::size_t>(text.size(), 64));
      fuzz::mars_names(fuzz::write_file("info/train_name.txt", text.substr(0, text.size() - rows.size())),
                       rows);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto parser = static_cast<std::uint8_t>(data[0] % 14);
  const auto rest = fuzz::as_text(data + 1, size - 1);
  fuzz::expect_clean_errors([&] {
    if (parser <= 8)
      parse_name(parser, rest);
    else
      read_list_file(parser, rest);
  });
  return 0;
}
