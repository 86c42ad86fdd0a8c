// Your own data (datasets::CustomImages, datasets::CustomVideo): list files and folder trees,
// images and clips, written here by hand; every malformed row names the list and its line,
// every malformed tree the folder or file.
#include <fgreid/datasets/custom.hpp>
#include <fgreid/datasets/video.hpp>

#include <doctest/doctest.h>

#include "dataset_support.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace ds = fgreid::datasets;
using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

/// The image of every entry, relative to `root`.
std::vector<std::string> relative_images(const std::vector<ds::Entry>& entries, const fs::path& root) {
  std::vector<std::string> images;
  for (const auto& entry : entries)
    for (const auto& image : entry.images) images.push_back(image.lexically_relative(root).generic_string());
  return images;
}

std::vector<std::int64_t> frames_of(const std::vector<ds::Entry>& entries) {
  std::vector<std::int64_t> frames;
  for (const auto& entry : entries) frames.push_back(entry.frame);
  return frames;
}

/// Lists of images: a header, comments, quotes, blanks, an absolute path, junk, frames or not.
void write_image_lists(const fs::path& root, const fs::path& elsewhere) {
  for (const auto* image : {"img/a 1.jpg", "img/b,2.jpg", "img/c.png", "img/d.jpg", "img/q.jpg", "img/g1.jpg",
                            "img/g2.jpg", "img/junk.jpg"})
    write_image(root / image);
  write_image(elsewhere / "far.jpg");
  write_text(root / "train.csv",
             "# my cameras: 3 = lobby, 7 = door\n"
             "path,pid,camid,frame\n"
             "img/a 1.jpg, 40, 3, 1200\r\n"
             "\"img/b,2.jpg\",40,7,\n"
             "\n"
             "img/c.png,12,3,5\n"
             "img/junk.jpg,-1,3,6\n" +
                 (elsewhere / "far.jpg").string() + ",7,7\n");
  write_text(root / "query.csv", "img/q.jpg,40,3\n");
  write_text(root / "gallery.csv", "PATH,PID,CAMID\nimg/g1.jpg,40,7\nimg/g2.jpg,0,3\n");
}

}  // namespace

TEST_CASE("image lists: header, comments, quotes, blanks and absolute paths read, junk dropped, training ids relabelled") {
  TempDir root, elsewhere;
  write_image_lists(root.path(), elsewhere.path());
  const auto splits = ds::CustomImages::load(root.path(), {});
  CHECK(relative_images(splits.train, root.path()) ==
        std::vector<std::string>{"img/a 1.jpg", "img/b,2.jpg", "img/c.png",
                                 (elsewhere / "far.jpg").lexically_relative(root.path()).generic_string()});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{2, 2, 1, 0});  // 7, 12, 40 → 0, 1, 2
  CHECK(cams_of(splits.train) == std::vector<std::int64_t>{3, 7, 3, 7});  // as written
  CHECK(frames_of(splits.train) == std::vector<std::int64_t>{1200, -1, 5, -1});  // empty or absent: unknown
  CHECK(pids_of(splits.query) == std::vector<std::int64_t>{40});  // test ids as written
  CHECK(pids_of(splits.gallery) == std::vector<std::int64_t>{40, 0});
  CHECK(splits.info["layout"] == "list files");
  CHECK(ds::summarize(splits) ==
        nlohmann::json{{"train", {{"ids", 3}, {"images", 4}, {"cameras", 2}}},
                       {"query", {{"ids", 1}, {"images", 1}, {"cameras", 1}}},
                       {"gallery", {{"ids", 2}, {"images", 2}, {"cameras", 2}}},
                       {"split", {{"layout", "list files"}}}});
}

TEST_CASE("an image tree: <subset>/<pid>/<camid>/<image>, junk and stray files skipped, natural order") {
  TempDir root;
  for (const auto* image : {"train/0040/3/frame10.jpg", "train/0040/3/frame9.JPG", "train/0040/7/x.bmp",
                            "train/12/0/a.png", "train/-1/0/junk.jpg", "query/40/3/q.jpeg", "gallery/40/7/g.jpg",
                            "gallery/0/1/d.jpg"})
    write_image(root / image);
  write_text(root / "train" / "0040" / "3" / "notes.txt", "not an image\n");
  write_text(root / "train" / "0040" / "3" / ".DS_Store", "x");
  fs::create_directories(root / "train" / ".ipynb_checkpoints");
  const auto splits = ds::CustomImages::load(root.path(), {});
  CHECK(relative_images(splits.train, root.path()) ==
        std::vector<std::string>{"train/12/0/a.png", "train/0040/3/frame9.JPG", "train/0040/3/frame10.jpg",
                                 "train/0040/7/x.bmp"});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 1, 1, 1});
  CHECK(cams_of(splits.train) == std::vector<std::int64_t>{0, 3, 3, 7});
  CHECK(frames_of(splits.train) == std::vector<std::int64_t>{-1, -1, -1, -1});
  CHECK(pids_of(splits.gallery) == std::vector<std::int64_t>{0, 40});
  CHECK(splits.info["layout"] == "folder tree");
}

TEST_CASE("a clip list groups its rows into tracklets by pid, camid and tracklet, frames in list order") {
  TempDir root;
  std::string train = "path,pid,camid,tracklet\n";
  for (const auto& [frame, row] : std::vector<std::pair<std::string, std::string>>{
           {"t/z.jpg", "5,1,walk"}, {"t/a.jpg", "5,1,walk"}, {"t/m.jpg", "5,2,walk"},  // another camera
           {"t/b.jpg", "5,1,run"}, {"t/c.jpg", "5,1,walk"}, {"t/j.jpg", "-1,1,x"}, {"t/k.jpg", "9,0,1"}}) {
    write_image(root / frame);
    train += frame + "," + row + "\n";
  }
  write_text(root / "train.csv", train);
  write_image(root / "q" / "1.jpg");
  write_image(root / "g" / "1.jpg");
  write_text(root / "query.csv", "q/1.jpg,9,0,a\n");
  write_text(root / "gallery.csv", "g/1.jpg,9,1,a\n");
  const auto splits = ds::CustomVideo::load(root.path(), {});
  REQUIRE(splits.train.size() == 4);
  CHECK(relative_images({splits.train[0]}, root.path()) == std::vector<std::string>{"t/z.jpg", "t/a.jpg", "t/c.jpg"});
  CHECK(relative_images({splits.train[1]}, root.path()) == std::vector<std::string>{"t/m.jpg"});
  CHECK(relative_images({splits.train[2]}, root.path()) == std::vector<std::string>{"t/b.jpg"});
  CHECK(relative_images({splits.train[3]}, root.path()) == std::vector<std::string>{"t/k.jpg"});
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 0, 1});
  CHECK(cams_of(splits.train) == std::vector<std::int64_t>{1, 2, 1, 0});
  CHECK(ds::summarize_video(splits)["train"] == subset(2, 4, 3, 6, 1, 1.5, 3));
}

TEST_CASE("a clip tree: <subset>/<pid>/<camid>/<tracklet>/<frames>, frames in natural order") {
  TempDir root;
  for (int frame = 1; frame <= 11; ++frame) write_image(root / "train" / "3" / "2" / "a" / fmt::format("{}.jpg", frame));
  write_image(root / "train" / "3" / "2" / "b" / "1.png");
  write_image(root / "train" / "8" / "0" / "t" / "1.jpg");
  write_image(root / "query" / "8" / "1" / "t" / "1.jpg");
  write_image(root / "gallery" / "8" / "0" / "u" / "1.jpg");
  const auto splits = ds::CustomVideo::load(root.path(), {});
  REQUIRE(splits.train.size() == 3);
  std::vector<std::string> expected;
  for (int frame = 1; frame <= 11; ++frame) expected.push_back(fmt::format("train/3/2/a/{}.jpg", frame));
  CHECK(relative_images({splits.train[0]}, root.path()) == expected);  // 2 before 10
  CHECK(pids_of(splits.train) == std::vector<std::int64_t>{0, 0, 1});
  CHECK(ds::summarize_video(splits)["train"] == subset(2, 3, 2, 13, 1, 13.0 / 3, 11));
}

TEST_CASE("digit runs compare as numbers") {
  CHECK(ds::natural_less("frame2.jpg", "frame10.jpg"));
  CHECK_FALSE(ds::natural_less("frame10.jpg", "frame2.jpg"));
  CHECK(ds::natural_less("a9", "b1"));
  CHECK(ds::natural_less("1.jpg", "1a.jpg"));
  CHECK(ds::natural_less("007", "7"));  // equal numbers: by the text, for a total order
  CHECK_FALSE(ds::natural_less("7", "007"));
  CHECK_FALSE(ds::natural_less("x", "x"));
}

TEST_CASE("every malformed list row is a DataError naming the list, its line and the problem") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"path,pid,camid\nimg/a.jpg,4\n", ":2: 2 fields where 3 or 4 are expected (path,pid,camid,[frame])"},
      {"img/a.jpg,4,1,2,9\n", ":1: 5 fields where 3 or 4 are expected"},
      {"img/a.jpg,four,1\n", ":1: pid \"four\" is not an integer >= -1"},
      {"img/a.jpg,-2,1\n", ":1: pid \"-2\" is not an integer >= -1"},
      {"img/a.jpg,4,\n", ":1: camid \"\" is not a non-negative integer"},
      {"img/a.jpg,4,c1\n", ":1: camid \"c1\" is not a non-negative integer"},
      {"img/a.jpg,4,1,1.5\n", ":1: frame \"1.5\" is not a non-negative integer"},
      {"# a comment\nimg/missing.jpg,4,1\n", ":2: "},  // and the image's path, below
      {"img/a.jpg,4,1\n\nimg/a.jpg,5,1\n", ":3: img/a.jpg is listed twice (also on line 1)"},
      {"\"img/a.jpg,4,1\n", ":1: unterminated quote"},
      {"\"img/a.jpg\"x,4,1\n", ":1: unterminated quote, or text after a closing quote"},
      {",4,1\n", ":1: empty path"},
      {"img/empty.jpg,4,1\n", ":1: "},  // and the image's path and problem, below
      {"img/page.jpg,4,1\n", ":1: "},
      {"path,camid,pid\nimg/a.jpg,4,1\n", ":1: header \"path,camid,pid\" does not match the columns path,pid,camid,[frame]"}};
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    TempDir root;
    write_image_lists(root.path(), root / "far");
    write_image(root / "img" / "a.jpg");
    write_text(root / "img" / "empty.jpg", "");
    write_text(root / "img" / "page.jpg", "<html>404 Not Found</html>\n");  // a failed download
    write_text(root / "query.csv", text);
    const auto message = error_of([&] { (void)ds::CustomImages::load(root.path(), {}); });
    CHECK(mentions(message, (root / "query.csv").string() + expected));
    if (mentions(text, "missing")) CHECK(mentions(message, (root / "img" / "missing.jpg").string() + ": image not found"));
    if (mentions(text, "empty")) CHECK(mentions(message, (root / "img" / "empty.jpg").string() + ": empty file (0 bytes)"));
    if (mentions(text, "page"))
      CHECK(mentions(message, (root / "img" / "page.jpg").string() + ": not a JPEG, PNG or BMP image"));
  }
}

TEST_CASE("every malformed clip list row names the list and its line") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"v/1.jpg,4,1\n", ":1: 3 fields where 4 are expected (path,pid,camid,tracklet)"},
      {"v/1.jpg,4,1,\n", ":1: empty tracklet"},
      {"path,pid,camid,frame\nv/1.jpg,4,1,7\n", ":1: header \"path,pid,camid,frame\" does not match"}};
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    TempDir root;
    write_image(root / "v" / "1.jpg");
    write_text(root / "train.csv", "v/1.jpg,4,1,a\n");
    write_text(root / "query.csv", "v/1.jpg,4,1,a\n");
    write_text(root / "gallery.csv", text);
    CHECK(mentions(error_of([&] { (void)ds::CustomVideo::load(root.path(), {}); }),
                   (root / "gallery.csv").string() + expected));
  }
}

TEST_CASE("every malformed tree is a DataError naming the folder or file and the problem") {
  auto base = [](const fs::path& root) {
    for (const auto* image : {"train/1/0/a.jpg", "query/1/1/b.jpg", "gallery/1/0/c.jpg"}) write_image(root / image);
  };
  SUBCASE("images") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"train/anna/0/a.jpg", "train/anna: not a person folder"},
        {"train/-3/0/a.jpg", "train/-3: not a person folder"},
        {"train/2/cam/a.jpg", "train/2/cam: not a camera folder"},
        {"train/2/a.jpg", "train/2/a.jpg: an image outside a camera folder"},
        {"train/a.jpg", "train/a.jpg: an image outside a person folder"},
        {"query/2/0/t/1.jpg", "query/2/0/t: a folder among a camera's images (tracklet folders of frames are for recipe_custom_video)"},
        {"gallery/2/0/page.jpg", "gallery/2/0/page.jpg: not a JPEG, PNG or BMP image"}};
    for (const auto& [image, expected] : cases) {
      CAPTURE(image);
      TempDir root;
      base(root.path());
      if (mentions(image, "page"))
        write_text(root / image, "<html>404 Not Found</html>\n");  // a failed download
      else
        write_image(root / image);
      CHECK(mentions(error_of([&] { (void)ds::CustomImages::load(root.path(), {}); }), (root / expected).string()));
    }
    TempDir root;
    base(root.path());
    fs::create_directories(root / "gallery" / "4" / "2");
    CHECK(mentions(error_of([&] { (void)ds::CustomImages::load(root.path(), {}); }),
                   (root / "gallery" / "4" / "2").string() + ": camera folder without images"));
    fs::remove_all(root / "gallery");
    CHECK(mentions(error_of([&] { (void)ds::CustomImages::load(root.path(), {}); }),
                   (root / "gallery").string() + ": folder not found"));
  }
  SUBCASE("clips") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"train/2/0/a.jpg", "train/2/0/a.jpg: a frame outside a tracklet folder"},
        {"train/2/0/t/u/1.jpg", "train/2/0/t/u: a folder inside a tracklet folder"}};
    for (const auto& [image, expected] : cases) {
      CAPTURE(image);
      TempDir root;
      for (const auto* frame : {"train/1/0/t/1.jpg", "query/1/1/t/1.jpg", "gallery/1/0/t/1.jpg"}) write_image(root / frame);
      write_image(root / image);
      CHECK(mentions(error_of([&] { (void)ds::CustomVideo::load(root.path(), {}); }), (root / expected).string()));
    }
    TempDir root;
    for (const auto* frame : {"train/1/0/t/1.jpg", "query/1/1/t/1.jpg", "gallery/1/0/t/1.jpg"}) write_image(root / frame);
    fs::create_directories(root / "query" / "1" / "1" / "empty");
    CHECK(mentions(error_of([&] { (void)ds::CustomVideo::load(root.path(), {}); }),
                   (root / "query" / "1" / "1" / "empty").string() + ": tracklet folder without frames"));
  }
}

TEST_CASE("a subset of only junk, or a missing list, is named") {
  TempDir root;
  write_image_lists(root.path(), root / "far");
  write_text(root / "query.csv", "path,pid,camid\nimg/q.jpg,-1,3\n");
  CHECK(mentions(error_of([&] { (void)ds::CustomImages::load(root.path(), {}); }),
                 (root / "query.csv").string() + ": no images"));
  // ... which --validation does not need: it draws query and gallery from the training ids
  CHECK(ds::CustomImages::load(root.path(), {.validation = 0.5, .validation_seed = 1}).info.contains("validation"));
  write_text(root / "query.csv", "img/q.jpg,40,3\n");
  fs::remove(root / "gallery.csv");
  CHECK(mentions(error_of([&] { (void)ds::CustomImages::load(root.path(), {}); }),
                 (root / "gallery.csv").string() + ": file not found"));
}

TEST_CASE("the synthetic stand-in's lists and tree hold the same images, the lists with frame numbers") {
  TempDir root;
  ds::CustomImages::synthesize(root.path(), {});
  const auto from_lists = ds::CustomImages::load(root.path(), {});
  for (const auto* list : {"train.csv", "query.csv", "gallery.csv"}) fs::remove(root / list);
  const auto from_tree = ds::CustomImages::load(root.path(), {});
  CHECK(from_lists.info["layout"] == "list files");
  CHECK(from_tree.info["layout"] == "folder tree");
  for (const auto& [lists, tree] : {std::pair{&from_lists.train, &from_tree.train},
                                    std::pair{&from_lists.query, &from_tree.query},
                                    std::pair{&from_lists.gallery, &from_tree.gallery}}) {
    const auto listed = triples(*lists), found = triples(*tree);
    CHECK(std::set(listed.begin(), listed.end()) == std::set(found.begin(), found.end()));
    CHECK(std::ranges::all_of(*lists, [](const ds::Entry& entry) { return entry.frame >= 0; }));
  }
  CHECK(from_lists.num_train_ids() == 100);
  check_learnable_layout(from_lists);
}
