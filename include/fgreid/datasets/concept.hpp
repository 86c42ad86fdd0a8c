#pragma once
#include <fgreid/datasets/splits.hpp>
#include <fgreid/modality.hpp>
#include <fgreid/policy.hpp>

#include <filesystem>

namespace fgreid {

/// @brief A concept matching dataset policies: a release's on-disk layout.
/// Satisfied by types that say what an entry holds (`modality`: one image, or a tracklet's
/// frames), read the official layout found under `--data-root` into Splits, and can write a
/// small, learnable synthetic tree in that same layout (the default data when no
/// `--data-root` is given).
template <class D>
concept Dataset = Policy<D> &&
  requires(const std::filesystem::path& root, const typename D::Options& options) {
    // what an entry holds
    { D::modality } -> std::convertible_to<Modality>;
    // reading the official layout; errors are DataError naming the path at fault
    { D::load(root, options) } -> std::same_as<datasets::Splits>;
    // writing the synthetic stand-in into an empty folder `root`
    { D::synthesize(root, options) } -> std::same_as<void>;
  };

/// @brief A concept matching datasets of single images (an entry holds one file).
template <class D>
concept ImageDataset = Dataset<D> && (D::modality == Modality::image);

/// @brief A concept matching datasets of tracklets (an entry holds a tracklet's frames).
template <class D>
concept VideoDataset = Dataset<D> && (D::modality == Modality::video);

}  // namespace fgreid
