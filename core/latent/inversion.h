#pragma once

// One image to a model's latent and back, by the model's own route (routes.h): synchronous, for
// the Inversion view's job and the CLI's `invert` alike.

#include "core/latent/routes.h"

namespace le {

struct InversionSettings {
    int64_t steps = 300;  // optimisation: optimiser steps per start
    int64_t starts = 2;   // optimisation: random starts (plus the encoder's guess where trained)
    uint64_t seed = 1;
};

struct LatentInversion {
    LatentRoute route = LatentRoute::None;
    torch::Tensor reconstruction;  // 1×C×H×W on the CPU, in [-1, 1]
    torch::Tensor codes;           // the code-grid route: h×w int64 on the CPU; else undefined
    int64_t steps = 0;             // optimiser steps taken (every start in one batch)
    bool cancelled = false;
};

// x: 1×C×H×W in [-1, 1] at the model's shape. `progress` sees every optimiser step and may stop
// it (return false); the other routes take one step. Throws DataError when the model has no
// route, ModelError for a bad image.
LatentInversion invertImage(GenerativeModel& model, const torch::Tensor& x,
                            const InversionSettings& settings,
                            const InversionProgress& progress = {});

}  // namespace le
