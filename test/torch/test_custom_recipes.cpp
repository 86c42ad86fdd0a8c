// recipe_custom_image and recipe_custom_video on data of your own (a folder tree, a clip
// list) and on their synthetic examples; --st-reid refusing images without a frame number
// (Market-1501 names beyond the release's sequences, a tree) before anything is written; a
// corrupt image named.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "dataset_support.hpp"

#include <filesystem>
#include <string>

using namespace fgreid::test;  // the helpers of dataset_support.hpp and support.hpp

namespace {

namespace fs = std::filesystem;

const std::string kTinyClips =
    " --threads 1 --workers 1 --height 64 --width 32 --batch-p 4 --batch-k 2 --seq-len 2"
    " --max-test-clips 2 --max-epoch 1 --epoch-iterations 2 --print-every 50 --test-batch 64";

/// A tree of 5 training ids on cameras 0 and 1 (two images each) and 3 test ids.
void write_image_tree(const fs::path& root) {
  for (int pid = 1; pid <= 5; ++pid)
    for (int camid = 0; camid < 2; ++camid)
      for (int n = 1; n <= 2; ++n) write_image(root / "train" / std::to_string(pid) / std::to_string(camid) / fmt::format("{}.jpg", n));
  for (int pid = 11; pid <= 13; ++pid) {
    write_image(root / "query" / std::to_string(pid) / "0" / "q.jpg");
    write_image(root / "gallery" / std::to_string(pid) / "1" / "g.jpg");
  }
}

/// Clip lists: 4 training ids with two tracklets of 3 frames, 2 test ids.
void write_clip_lists(const fs::path& root) {
  std::string train = "path,pid,camid,tracklet\n", query, gallery;
  auto tracklet = [&](std::string& list, int pid, int camid, const std::string& name) {
    for (int frame = 1; frame <= 3; ++frame) {
      const auto path = fmt::format("frames/{}_{}_{}_{}.png", pid, camid, name, frame);
      write_image(root / path);
      list += fmt::format("{},{},{},{}\n", path, pid, camid, name);
    }
  };
  for (int pid = 1; pid <= 4; ++pid) {
    tracklet(train, pid, 0, "a");
    tracklet(train, pid, 1, "b");
  }
  for (int pid = 7; pid <= 8; ++pid) {
    tracklet(query, pid, 0, "q");
    tracklet(gallery, pid, 1, "g");
  }
  write_text(root / "train.csv", train);
  write_text(root / "query.csv", query);
  write_text(root / "gallery.csv", gallery);
}

}  // namespace

TEST_CASE("the custom recipes train one tiny epoch on a tree and on clip lists of your own" * doctest::timeout(900)) {
  TempDir images, clips;
  write_image_tree(images.path());
  const auto image_metrics = train_to_metrics("custom_image", kTinyImageRun + " --data-root " + images.path().string());
  CHECK(image_metrics["valid_queries"] == 3);
  write_clip_lists(clips.path());
  const auto clip_metrics = train_to_metrics("custom_video", kTinyClips + " --data-root " + clips.path().string());
  CHECK(clip_metrics["valid_queries"] == 2);
}

TEST_CASE("--summary of the custom recipes: your tree, or the synthetic example without --data-root") {
  TempDir images;
  write_image_tree(images.path());
  CHECK(recipe_summary("custom_image", "--data-root " + images.path().string()) ==
        nlohmann::json{{"train", {{"ids", 5}, {"images", 20}, {"cameras", 2}}},
                       {"query", {{"ids", 3}, {"images", 3}, {"cameras", 1}}},
                       {"gallery", {{"ids", 3}, {"images", 3}, {"cameras", 1}}},
                       {"split", {{"layout", "folder tree"}}}});
  const auto example = recipe_summary("custom_image", "");
  CHECK(example["train"]["ids"] == 100);
  CHECK(example["split"]["layout"] == "list files");
  const auto clips = recipe_summary("custom_video", "");
  CHECK(clips["train"]["ids"] == 60);
  CHECK(clips["query"]["tracklets"] == 60);
  CHECK(clips["split"]["layout"] == "folder tree");
  check_quarter_held_out(recipe_summary("custom_video", "--validation 0.25"));
}

TEST_CASE("--st-reid refuses, before writing anything, an image without a frame number, and names it") {
  TempDir market, images, out;
  for (const auto* name : {"0002_c1s1_000451_03.jpg", "0002_c3s1_000551_01.jpg", "0005_c2s1_000100_01.jpg"})
    write_image(market / "bounding_box_train" / name);
  write_image(market / "query" / "0099_c1s1_050000_01.jpg");
  write_image(market / "bounding_box_test" / "0099_c2s4_055272_01.jpg");  // c2 has three sequences
  // Without --st-reid the renamed data loads; with it, the image is named.
  CHECK(recipe_summary("market_image", "--data-root " + market.path().string())["gallery"]["images"] == 1);
  const auto refused = run_command(recipe("market_image") + " --st-reid --batch-p 2 --batch-k 2 --data-root " + market.path().string() +
                                   " --output " + (out / "market").string());
  CHECK(refused.exit_code == 2);
  CHECK(mentions(last_line(refused.err), "--st-reid: " + (market / "bounding_box_test" / "0099_c2s4_055272_01.jpg").string() +
                                             ": frame number unknown"));
  CHECK_FALSE(fs::exists(out / "market"));

  write_image_tree(images.path());
  const auto tree = run_command(recipe("custom_image") + " --st-reid --batch-p 4 --data-root " + images.path().string() +
                                " --output " + (out / "tree").string());
  CHECK(tree.exit_code == 2);
  CHECK(mentions(last_line(tree.err), "--st-reid: " + (images / "train" / "1" / "0" / "1.jpg").string()));
  CHECK_FALSE(fs::exists(out / "tree"));
}

TEST_CASE("a corrupt image of your own is named: a foreign file at load before anything is written, "
          "an undecodable JPEG when it is read" * doctest::timeout(600)) {
  TempDir images, out;
  write_image_tree(images.path());
  const auto foreign = images / "train" / "3" / "1" / "2.jpg";
  write_text(foreign, "<html>404 Not Found</html>\n");  // a failed download saved as an image
  const auto at_load = run_command(recipe("custom_image") + kTinyImageRun + " --data-root " + images.path().string() +
                                   " --output " + (out / "load").string());
  CHECK(at_load.exit_code == 1);
  CHECK(mentions(last_line(at_load.err), foreign.string() + ": not a JPEG, PNG or BMP image"));
  CHECK_FALSE(fs::exists(out / "load"));

  write_image(foreign);
  const auto broken = images / "query" / "12" / "0" / "q.jpg";  // every query is decoded
  write_text(broken, std::string("\xFF\xD8\xFF\xE0") + "then no JPEG at all");
  const auto at_read = run_command(recipe("custom_image") + kTinyImageRun + " --data-root " + images.path().string() +
                                   " --output " + (out / "read").string());
  CHECK(at_read.exit_code == 1);
  CHECK(mentions(last_line(at_read.err), broken.string() + ": cannot decode the image"));
  CHECK_FALSE(fs::exists(out / "read" / "metrics.json"));
}
