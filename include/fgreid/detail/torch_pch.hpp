#pragma once
// Precompiled once for the `fgreid` library and reused by every recipe, tool, bench and test.
#include <torch/torch.h>
