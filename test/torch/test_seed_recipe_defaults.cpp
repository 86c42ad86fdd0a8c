// Each seed recipe's test features and selection metric against a port of the seed's own
// choice: Image.py's per-dataset mode (lines 132-150), whose test_rerank evaluates raw features
// for modes 3 and 7 and flip + L2 otherwise (326-329), and whose --focus is rank-1 but mAP for
// market and veri; Video.py's --focus, mAP for every dataset (69); evaluate_videos.py's test
// plan for MARS (85: sample='test', max_length=32, flip + L2 per clip).
#include <fgreid/samplers/options.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "recipes/cuhk01_image.hpp"
#include "recipes/cuhk03_image.hpp"
#include "recipes/duke_image.hpp"
#include "recipes/dukevideo_video.hpp"
#include "recipes/grid_image.hpp"
#include "recipes/ilidsvid_video.hpp"
#include "recipes/market_image.hpp"
#include "recipes/mars_video.hpp"
#include "recipes/msmt17_image.hpp"
#include "recipes/prid_video.hpp"
#include "recipes/vehicleid_image.hpp"
#include "recipes/veri_image.hpp"
#include "recipes/vric_image.hpp"
#include "reference.hpp"

#include <map>
#include <string>

namespace {

namespace rc = fgreid::recipes;

struct Chosen {
  bool flip = false, normalize = false;
  bool by_map = false;
};

template <class Recipe>
Chosen chosen() {
  typename Recipe::Config config;
  Recipe::defaults(config);
  return {.flip = config.eval.flip_test,
          .normalize = config.eval.normalize_features,
          .by_map = config.train.best_metric == fgreid::engine::SelectionMetric::mAP};
}

}  // namespace

TEST_CASE("the image recipes test and select as the seed's Image.py does for their dataset") {
  // Image.py's dataset → mode chain and test_rerank's `normal`, verbatim but for the prints.
  const std::string script = R"(
import json
def image_py(dataset):
    focus = 'rank-1'
    if dataset == "market2":
        focus ="map"
        mode = 1
    elif dataset == "market":
        mode = 1
        focus ="map"
    elif dataset == "duke":
        mode =  2
    elif dataset == "cuhk03":
        mode =  4
    elif dataset == "veri":
        mode =  5
        focus ="map"
    elif dataset == "vric":
        mode =  6
    elif dataset == "vehicleid":
        mode =  7
    else:
        mode =  3
    normal = True
    if mode == 3 or mode == 7 :
        normal = True
    else:
        normal = False
    return {"raw": normal, "by_map": focus == "map"}
print(json.dumps({d: image_py(d) for d in
                  ["market", "duke", "cuhk03", "veri", "vric", "vehicleid", "cuhk01", "grid", "msmt17"]}))
)";
  fgreid::test::TempDir dir;
  const auto seed = fgreid::test::run_python_reference(script, dir);
  const std::map<std::string, Chosen> ours{
      {"market", chosen<rc::market_image::Recipe>()},   {"duke", chosen<rc::duke_image::Recipe>()},
      {"cuhk03", chosen<rc::cuhk03_image::Recipe>()},   {"veri", chosen<rc::veri_image::Recipe>()},
      {"vric", chosen<rc::vric_image::Recipe>()},       {"vehicleid", chosen<rc::vehicleid_image::Recipe>()},
      {"cuhk01", chosen<rc::cuhk01_image::Recipe>()},   {"grid", chosen<rc::grid_image::Recipe>()},
      {"msmt17", chosen<rc::msmt17_image::Recipe>()}};
  for (const auto& [dataset, choice] : ours) {
    CAPTURE(dataset);
    // raw: neither the flip nor the L2; otherwise both
    CHECK(choice.flip == !seed[dataset]["raw"].get<bool>());
    CHECK(choice.normalize == !seed[dataset]["raw"].get<bool>());
    CHECK(choice.by_map == seed[dataset]["by_map"].get<bool>());
  }
}

TEST_CASE("every video recipe keeps its best model by mAP, Video.py's --focus default") {
  CHECK(chosen<rc::mars_video::Recipe>().by_map);
  CHECK(chosen<rc::ilidsvid_video::Recipe>().by_map);
  CHECK(chosen<rc::prid_video::Recipe>().by_map);
  CHECK(chosen<rc::dukevideo_video::Recipe>().by_map);
}

TEST_CASE("MARS is tested with evaluate_videos.py's plan, the other video recipes with Video.py's") {
  rc::mars_video::Recipe::Config mars;
  rc::mars_video::Recipe::defaults(mars);
  CHECK(mars.sampler.clips.test_sampling == fgreid::samplers::TestSampling::sampled);
  CHECK(mars.sampler.clips.max_test_frames == 32);
  CHECK(mars.eval.flip_test);
  CHECK(mars.eval.normalize_clips);
  CHECK_FALSE(mars.eval.normalize_features);
  rc::ilidsvid_video::Recipe::Config ilids;
  rc::ilidsvid_video::Recipe::defaults(ilids);
  CHECK(ilids.sampler.clips.test_sampling == fgreid::samplers::TestSampling::dense);
  CHECK_FALSE(ilids.eval.flip_test);
}
