#pragma once
#include <fgreid/datasets/splits.hpp>
#include <fgreid/policy.hpp>

#include <filesystem>

namespace fgreid {

namespace datasets {
/// Whether an entry is one image or a tracklet of frames.
enum class Modality { image, video };
}  // namespace datasets

/// @brief A concept matching dataset policies: a release's on-disk layout.
/// Satisfied by types that read the official layout found under `--data-root` into Splits,
/// and can write a small, learnable synthetic tree in that same layout (the default data
/// when no `--data-root` is given).
template <class D>
concept Dataset = Policy<D> &&
  requires(const std::filesystem::path& root, const typename D::Options& options) {
    // what an entry holds
    { D::modality } -> std::convertible_to<datasets::Modality>;
    // reading the official layout; errors are DataError naming the path at fault
    { D::load(root, options) } -> std::same_as<datasets::Splits>;
    // writing the synthetic stand-in into an empty folder `root`
    { D::synthesize(root, options) } -> std::same_as<void>;
  };

}  // namespace fgreid
