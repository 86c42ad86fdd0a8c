// bench_loader: images/s of fgreid's BatchLoader (decode + the seed's training augmentation
// at 256×128) from JPEG files on disk, against a torchvision DataLoader with the same number of
// workers on the same files with the equivalent transforms (bench/loader_peer.py), in the same
// invocation.
//
//   bench_loader [--workers 2] [--images 3000] [--batch 64] [--height 256] [--width 128]
//                [--video] [--frames 16] [--seq-len 4] [--file-height 128] [--file-width 64]
//
// Image mode: identity-major batches of 16 × 4 images of synthetic JPEGs, 128×64 (Market's
// size) or --file-height × --file-width (256×128: files at the training size, no resize). --video: tracklets of --frames JPEGs, batches of batch/seq-len clips of seq-len
// consecutive frames; reports clips/s. Each side runs one pass to warm the page cache and its
// workers, then a timed pass. Prints one JSON line.
#include <fgreid/data/loader.hpp>
#include <fgreid/datasets/synthetic.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
namespace fd = fgreid::data;
using fgreid::bench::Clock;

struct Settings {
  int workers = 2;
  int images = 3000;
  int batch = 64;
  int height = 256;
  int width = 128;
  bool video = false;
  int frames = 16;
  int seq_len = 4;
  int file_height = 128;
  int file_width = 64;
};

/// Synthetic people as JPEGs (quality 90, `size`), `per_id` consecutive files per identity;
/// writes list.txt ("path pid" per line) for the peer.
std::vector<fgreid::datasets::Entry> write_images(const fs::path& folder, int count, int per_id,
                                                  bool tracklets, cv::Size size) {
  namespace syn = fgreid::datasets::synthetic;
  std::mt19937_64 rng(1);
  std::vector<fgreid::datasets::Entry> entries;
  std::ofstream list(folder / "list.txt");
  const std::vector<int> quality{cv::IMWRITE_JPEG_QUALITY, 90};
  for (int pid = 0; pid * per_id < count; ++pid) {
    const auto person = syn::random_person(rng);
    const auto camera = syn::random_camera_style(rng);
    fgreid::datasets::Entry tracklet{{}, pid, 0, -1};
    for (int k = 0; k < per_id && pid * per_id + k < count; ++k) {
      const auto path = folder / fmt::format("{:04d}_c1_{:03d}.jpg", pid, k);
      cv::imwrite(path.string(), syn::render_person(person, camera, rng, size), quality);
      list << path.string() << ' ' << pid << '\n';
      if (tracklets)
        tracklet.images.push_back(path);
      else
        entries.push_back({{path}, pid, 0, -1});
    }
    if (tracklets) entries.push_back(std::move(tracklet));
  }
  return entries;
}

/// Items per second of one pass after a warm-up pass.
double measure_ours(const std::vector<fgreid::datasets::Entry>& entries, const Settings& s) {
  const fd::Pipeline pipeline(s.height, s.width, fd::seed_pipeline(), /*train=*/true);
  fd::LoaderOptions options{.workers = s.workers, .prefetch = 4, .pin_memory = false, .seed = 1};
  const int per_batch = s.video ? s.batch / s.seq_len : s.batch;
  if (s.video)
    options.frames = [seq = static_cast<std::size_t>(s.seq_len)](const fgreid::datasets::Entry& entry,
                                                                  std::uint64_t seed) {
      const std::size_t start = seed % (entry.images.size() - seq + 1);
      std::vector<std::size_t> frames(seq);
      for (std::size_t t = 0; t < seq; ++t) frames[t] = start + t;
      return frames;
    };
  double rate = 0;
  for (int pass = 0; pass < 2; ++pass) {
    options.seed = static_cast<std::uint64_t>(pass + 1);
    const auto start = Clock::now();
    fd::BatchLoader loader(entries,
                           fd::sequential_batches(static_cast<std::int64_t>(entries.size()), per_batch),
                           pipeline, options);
    std::int64_t items = 0;
    while (auto batch = loader.next()) items += batch->images.size(0);
    rate = static_cast<double>(items) / fgreid::bench::seconds_since(start);
  }
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Settings s;
    for (int k = 1; k < argc; ++k) {
      const std::string flag = argv[k];
      auto value = [&] {
        if (k + 1 >= argc) throw std::invalid_argument(flag + ": missing value");
        return std::stoi(argv[++k]);
      };
      if (flag == "--workers") s.workers = value();
      else if (flag == "--images") s.images = value();
      else if (flag == "--batch") s.batch = value();
      else if (flag == "--height") s.height = value();
      else if (flag == "--width") s.width = value();
      else if (flag == "--frames") s.frames = value();
      else if (flag == "--seq-len") s.seq_len = value();
      else if (flag == "--file-height") s.file_height = value();
      else if (flag == "--file-width") s.file_width = value();
      else if (flag == "--video") s.video = true;
      else throw std::invalid_argument("unknown flag " + flag);
    }
    if (s.workers < 0) throw std::invalid_argument(fmt::format("--workers {}: must be at least 0", s.workers));
    for (const auto& [flag, number] : {std::pair{"--images", s.images}, {"--batch", s.batch},
                                       {"--height", s.height}, {"--width", s.width}, {"--file-height", s.file_height},
                                       {"--file-width", s.file_width}, {"--frames", s.frames}, {"--seq-len", s.seq_len}})
      if (number < 1) throw std::invalid_argument(fmt::format("{} {}: must be at least 1", flag, number));
    if (s.video && (s.frames < s.seq_len || s.batch % s.seq_len != 0))
      throw std::invalid_argument("--video: --frames must be >= --seq-len, --batch a multiple of it");
    const fs::path folder = fs::temp_directory_path() / fmt::format("bench_loader_{}", ::getpid());
    fs::create_directories(folder);
    const auto entries = write_images(folder, s.images, s.video ? s.frames : 4, s.video,
                                      cv::Size(s.file_width, s.file_height));

    torch::set_num_threads(1);  // the consumer does nothing; the workers are the work
    const double ours = measure_ours(entries, s);
    const auto peer = fgreid::bench::run_for_json("bench_loader", fmt::format(
        "{} {} {} --workers {} --batch {} --height {} --width {}{}", FGREID_PYTHON,
        (fs::path(__FILE__).parent_path() / "loader_peer.py").string(), folder.string(), s.workers,
        s.batch, s.height, s.width,
        s.video ? fmt::format(" --video --frames {} --seq-len {}", s.frames, s.seq_len) : ""));
    fs::remove_all(folder);

    const std::string unit = s.video ? "clips_per_s" : "images_per_s";
    const double theirs = peer.at(unit).get<double>();
    nlohmann::json result{{"bench", "loader"},
                          {"mode", s.video ? "video" : "image"},
                          {"workers", s.workers},
                          {"files", s.images},
                          {"size", fmt::format("{}x{}", s.height, s.width)},
                          {"file_size", fmt::format("{}x{}", s.file_height, s.file_width)},
                          {"pipeline", "seed: bicubic resize, flip, pad 10, translate, normalise, erase"},
                          {"fgreid_" + unit, ours},
                          {"torchvision_" + unit, theirs},
                          {"torch", peer.at("torch")},
                          {"torchvision", peer.at("torchvision")},
                          {"ratio", ours / theirs}};
    if (s.video) result["seq_len"] = s.seq_len;
    std::puts(result.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_loader: %s\n", e.what());
    return 1;
  }
}
