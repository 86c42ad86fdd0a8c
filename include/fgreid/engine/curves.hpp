#pragma once
// --plot: a run's curves from its log.jsonl, as one PNG of three panels: loss (and each term)
// over iterations, learning rate over iterations, rank-1 and mAP over epochs. Read back from the
// log, so a resumed run's picture covers the whole run.
#include <filesystem>

namespace fgreid::engine {

/// Draws the curves of `log` (a run's log.jsonl) into `png`. Throws DataError naming a file
/// that cannot be read or written.
void write_training_curves(const std::filesystem::path& log, const std::filesystem::path& png);

}  // namespace fgreid::engine
