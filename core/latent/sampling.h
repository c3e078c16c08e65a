#pragma once

// Drawing samples, the same way everywhere they are shown or measured: the Compare view, the
// Temperature view, training snapshots and the CLI's `sample` and `eval`.

#include "models/generative_model.h"

#include <functional>

namespace le {

// Samples are drawn in chunks of this many, chunk k with seed chunkSeed(seed, k): so a count of
// samples is the same images whoever draws them, and an autoregressive chunk is short enough to
// report and stop between.
constexpr int64_t kSampleChunk = 32;
uint64_t chunkSeed(uint64_t seed, int64_t chunk);

// Called every few autoregressive steps with the partial images (unfilled positions 0, i.e. mid
// grey; undefined between reports) and the steps done; return false to stop early.
using PartialSamples =
    std::function<bool(const torch::Tensor& images, int64_t done, int64_t total)>;

// Exactly model.sample(count, temperature, seed), except that a model that steps
// (capabilities().autoregressive) steps its whole batch here, through its own sampler, so that
// `partial` sees it fill in (a report per row of positions) and can stop it. Returns an undefined
// tensor when `partial` stopped it. Call in the thread that owns the model.
torch::Tensor sampleProgressively(GenerativeModel& model, int64_t count, double temperature,
                                  uint64_t seed, const PartialSamples& partial = {});

// `count` samples in chunks (above), on the CPU. `progress` sees samples done and the total, and
// stops the drawing (mid-chunk for an autoregressive model) by returning false: then the result
// is undefined.
torch::Tensor sampleInChunks(GenerativeModel& model, int64_t count, double temperature,
                             uint64_t seed,
                             const std::function<bool(int64_t done, int64_t total)>& progress = {});

}  // namespace le
