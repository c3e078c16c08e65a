#include "core/latent/sampling.h"

#include <algorithm>
#include <vector>

namespace le {

uint64_t chunkSeed(uint64_t seed, int64_t chunk) {
    return seed + uint64_t(chunk) * 0x9E3779B97F4A7C15ull;  // the golden-ratio increment
}

torch::Tensor sampleProgressively(GenerativeModel& model, int64_t count, double temperature,
                                  uint64_t seed, const PartialSamples& partial) {
    torch::NoGradGuard noGrad;
    if (!model.capabilities().autoregressive || count < 1)
        return model.sample(count, temperature, seed);
    model.checkTemperature(temperature);
    // The family's own sampler over the whole batch, with sample()'s options: the same stepper,
    // seed and order, so the result is sample()'s exactly.
    SamplerOptions options;
    options.temperature = temperature;
    options.seed = seed;
    options.batch = count;
    const std::unique_ptr<AutoregressiveSampler> sampler = model.sampler(options);
    // One report per row of positions, so a row of the grid fills visibly.
    const int64_t perRow = sampler->stepsPerRow();
    const int64_t total = sampler->totalSteps();
    while (!sampler->done()) {
        sampler->step();
        if (!partial) continue;
        const int64_t done = sampler->stepsDone();
        const bool report = done % perRow == 0 && done < total;
        if (!partial(report ? sampler->image() : torch::Tensor(), done, total)) return {};
    }
    return sampler->image();
}

torch::Tensor sampleInChunks(GenerativeModel& model, int64_t count, double temperature,
                             uint64_t seed,
                             const std::function<bool(int64_t done, int64_t total)>& progress) {
    std::vector<torch::Tensor> parts;
    bool stopped = false;
    for (int64_t done = 0, chunk = 0; done < count && !stopped; done += kSampleChunk, ++chunk) {
        if (progress && !progress(done, count)) return {};
        const int64_t n = std::min(kSampleChunk, count - done);
        const torch::Tensor images =
            sampleProgressively(model, n, temperature, chunkSeed(seed, chunk),
                                [&](const torch::Tensor&, int64_t, int64_t) {
                                    stopped = progress && !progress(done, count);
                                    return !stopped;
                                });
        if (!images.defined()) return {};
        parts.push_back(images.to(torch::kCPU));
    }
    if (progress && !progress(count, count)) return {};
    return parts.empty() ? model.sample(0, temperature, seed).cpu() : torch::cat(parts);
}

}  // namespace le
