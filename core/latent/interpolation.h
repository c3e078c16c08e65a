#pragma once

// A path between two images through a model's latent space, decoded frame by frame, by the
// model's interpolation route (routes.h): synchronous, for the Interpolation view's job and the
// CLI's `interpolate` alike, so both give the same frames.

#include "core/latent/inversion.h"

#include <functional>
#include <vector>

namespace le {

// `frames` latents from a to b (1-D tensors of the same size), endpoints included: straight
// lines (lerp) or great circles scaled between the two norms (slerp; lerp when the two are
// nearly parallel).
torch::Tensor interpolateLatents(const torch::Tensor& a, const torch::Tensor& b, int frames,
                                 bool slerp);

// Called with steps done and the total (optimiser steps of both endpoints, then one per frame);
// return false to stop.
using StepProgress = std::function<bool(int64_t done, int64_t total)>;

struct LatentInterpolation {
    LatentRoute route = LatentRoute::None;
    torch::Tensor latents;              // frames × latentDim
    std::vector<torch::Tensor> frames;  // each 1×C×H×W on the CPU, decoded alone
    double endpointMse = 0;             // how well the endpoints were reached, per pixel on [-1, 1]
    bool cancelled = false;
};

// from, to: 1×C×H×W in [-1, 1] at the model's shape. Each frame is decode(latent) of that latent
// alone. Throws DataError when the model has no route.
LatentInterpolation interpolateImages(GenerativeModel& model, const torch::Tensor& from,
                                      const torch::Tensor& to, int frames, bool slerp,
                                      const InversionSettings& inversion,
                                      const StepProgress& progress = {});

}  // namespace le
