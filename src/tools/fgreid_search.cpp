// fgreid_search: the top-K gallery entries of each query, exactly, from features files.
//   fgreid_search --query q.npy --gallery g.npy [--top-k 10] [--metric euclidean|cosine]
//                 [--output ranks.jsonl|ranks.csv] [--grid ranks.png [--grid-queries 8]]
//                 [--block-rows 65536] [--device auto|cpu|cuda] [--rerank [--k1 --k2 --lambda]]
// The features come from a recipe's --extract-images (FILE.npy with FILE.paths.txt beside it)
// or from np.save. Searching images is those two steps: the model is a recipe's compile-time
// type, and a search needs none, so the gallery is extracted once and searched many times.
// Each result is one line: query path, rank (1-based), gallery path, distance.
// Exit 2: a bad flag; exit 1: an unreadable or mismatched features file, or an unreadable image
// for --grid. Either way one line on stderr says why, and no output file is left half-written.
#include <fgreid/cli/flags.hpp>
#include <fgreid/cli/tool_main.hpp>
#include <fgreid/data/inputs.hpp>
#include <fgreid/engine/files.hpp>
#include <fgreid/engine/progress.hpp>
#include <fgreid/engine/run.hpp>
#include <fgreid/error.hpp>
#include <fgreid/eval/pictures.hpp>
#include <fgreid/eval/search.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ev = fgreid::eval;
constexpr const char* kProgram = "fgreid_search";

/// The paths of a features file's rows: FILE.paths.txt beside it, one per row; without one,
/// "FILE#row" names.
std::vector<std::string> row_names(const fs::path& features, std::int64_t rows) {
  auto list = features;
  list.replace_extension(".paths.txt");
  std::vector<std::string> names;
  if (!fs::exists(list)) {
    for (std::int64_t i = 0; i < rows; ++i) names.push_back(fmt::format("{}#{}", features.string(), i));
    return names;
  }
  std::ifstream in(list);
  for (std::string line; std::getline(in, line);) names.push_back(line);
  if (static_cast<std::int64_t>(names.size()) != rows)
    throw fgreid::DataError(fmt::format("{}: {} paths, but {} holds {} rows", list.string(), names.size(),
                                        features.string(), rows));
  return names;
}

torch::Tensor read_all(ev::NpyReader& reader) {
  auto rows = torch::empty({reader.rows(), reader.cols()}, torch::kFloat);
  reader.read(0, std::span<float>(rows.data_ptr<float>(), static_cast<std::size_t>(rows.numel())));
  return rows;
}

void check(const ev::SearchOptions& options) {
  if (options.query.empty() || options.gallery.empty())
    throw fgreid::UsageError("--query FILE.npy and --gallery FILE.npy are required");
  if (options.top_k < 1) throw fgreid::UsageError(fmt::format("--top-k {}: must be at least 1", options.top_k));
  if (options.block_rows < 1)
    throw fgreid::UsageError(fmt::format("--block-rows {}: must be at least 1", options.block_rows));
  if (options.grid_queries < 1)
    throw fgreid::UsageError(fmt::format("--grid-queries {}: must be at least 1", options.grid_queries));
  const auto extension = options.output.extension();
  if (!options.output.empty() && extension != ".jsonl" && extension != ".json" && extension != ".csv")
    throw fgreid::UsageError(fmt::format("--output {}: name a .jsonl or a .csv file", options.output.string()));
}

/// --rerank holds the gallery [Ng, D] and the Nq × Ng distances: refused beyond half the memory.
void check_rerank_fits(std::int64_t queries, const ev::NpyReader& gallery) {
  const double bytes = 4.0 * static_cast<double>(gallery.rows()) *
                       static_cast<double>(gallery.cols() + 2 * queries);
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (bytes > memory / 2)
    throw fgreid::UsageError(fmt::format("--rerank: the {} gallery rows and their distances need {:.1f} GB, more "
                                         "than half this machine's memory; search without --rerank (it streams)",
                                         gallery.rows(), bytes / 1e9));
}

std::string quoted_csv(const std::string& field) {
  if (field.find_first_of(",\"\n") == std::string::npos) return field;
  std::string out = "\"";
  for (const char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string format_results(const ev::TopK& best, const std::vector<std::string>& queries,
                           const std::vector<std::string>& gallery, bool csv) {
  std::string text = csv ? "query,rank,gallery,distance\n" : "";
  const auto indices = best.indices.accessor<std::int64_t, 2>();
  const auto distances = best.distances.accessor<float, 2>();
  for (std::int64_t q = 0; q < best.indices.size(0); ++q)
    for (std::int64_t k = 0; k < best.indices.size(1); ++k) {
      const auto& name = gallery[static_cast<std::size_t>(indices[q][k])];
      const auto& query = queries[static_cast<std::size_t>(q)];
      if (csv)
        text += fmt::format("{},{},{},{:.9g}\n", quoted_csv(query), k + 1, quoted_csv(name), distances[q][k]);
      else
        text += nlohmann::json{{"query", query}, {"rank", k + 1}, {"gallery", name}, {"distance", distances[q][k]}}
                    .dump() + "\n";
    }
  return text;
}

/// The picture of a row: the image itself, or a clip folder's first frame.
fs::path picture_of(const std::string& path) {
  if (fs::is_directory(path)) return fgreid::data::clip_frames(path).front();
  return path;
}

void write_grid(const fs::path& png, const ev::TopK& best, const std::vector<std::string>& queries,
                const std::vector<std::string>& gallery, int count) {
  std::vector<ev::RankedQuery> rows;
  const auto indices = best.indices.accessor<std::int64_t, 2>();
  for (std::int64_t q = 0; q < std::min<std::int64_t>(count, best.indices.size(0)); ++q) {
    ev::RankedQuery row{.query_image = picture_of(queries[static_cast<std::size_t>(q)]), .gallery_images = {}, .kinds = {}};
    for (std::int64_t k = 0; k < best.indices.size(1); ++k) {
      row.gallery_images.push_back(picture_of(gallery[static_cast<std::size_t>(indices[q][k])]));
      row.kinds.push_back(ev::MatchKind::unlabelled);
    }
    rows.push_back(std::move(row));
  }
  ev::write_rank_grid(png, rows);
}

ev::TopK search(const ev::SearchOptions& options, const ev::RerankOptions& rerank,
                const torch::Tensor& query, ev::NpyReader& gallery) {
  if (options.rerank) {
    check_rerank_fits(query.size(0), gallery);
    if (gallery.cols() != query.size(1))
      throw fgreid::DataError(fmt::format("{}: {}-D gallery features, but the queries are {}-D",
                                          gallery.path().string(), gallery.cols(), query.size(1)));
    return ev::rerank_top_k(query, read_all(gallery), options.top_k, options.metric, rerank);
  }
  const auto device = fgreid::engine::select_device(options.device);
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  return ev::search_top_k(query, gallery, options.top_k, options.metric, device, options.block_rows,
                          [&](std::int64_t done, std::int64_t total) {
                            const auto now = std::chrono::steady_clock::now();
                            if (done < total && now - last < std::chrono::seconds(2)) return;
                            last = now;
                            fmt::print(stderr, "[fgreid] searched {}/{} gallery rows on {} ({:.1f} s)\n", done,
                                       total, device.str(), std::chrono::duration<double>(now - start).count());
                          });
}

int run(int argc, char** argv) {
  ev::SearchOptions options;
  ev::RerankOptions rerank;
  fgreid::cli::CommandLine cli(kProgram, "Writes the top-K gallery entries of each query as JSON or CSV lines.");
  fgreid::cli::add_flags(cli, options);
  fgreid::cli::add_flags(cli, rerank);
  if (!cli.parse(argc, argv)) return 0;
  check(options);
  ev::NpyReader query_file(options.query), gallery(options.gallery);
  const auto queries = row_names(options.query, query_file.rows());
  const auto gallery_names = row_names(options.gallery, gallery.rows());
  const auto query = read_all(query_file);
  const auto best = search(options, rerank, query, gallery);
  const auto text = format_results(best, queries, gallery_names, options.output.extension() == ".csv");
  if (!options.grid.empty()) write_grid(options.grid, best, queries, gallery_names, options.grid_queries);
  if (options.output.empty()) {
    std::cout << text << std::flush;
  } else {
    fgreid::write_file_atomically(options.output, text);
    fmt::print(stderr, "[fgreid] {} queries × top {} written to {}\n", best.indices.size(0),
               best.indices.size(1), options.output.string());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return fgreid::cli::tool_main(kProgram, [&] { return run(argc, argv); });
}
