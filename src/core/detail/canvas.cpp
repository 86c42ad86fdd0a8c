#include <fgreid/detail/canvas.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/error.hpp>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include <string_view>
#include <system_error>
#include <vector>

namespace fgreid::detail {

void write_png(const std::filesystem::path& png, const cv::Mat& image) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".png", image, bytes))
    throw DataError(fmt::format("{}: cannot encode the PNG", png.string()));
  std::error_code ignored;
  if (png.has_parent_path()) std::filesystem::create_directories(png.parent_path(), ignored);
  write_file_atomically(png, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace fgreid::detail
