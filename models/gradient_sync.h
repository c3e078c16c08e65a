#pragma once

// The seam of data-parallel training. Workers that each train a replica of one model on their
// own slice of every batch share a GradientSync; the trainer installs it for its thread
// (ScopedGradientSync) and clippedStep averages the gradient through it before clipping, so every
// family that steps through clippedStep trains data-parallel without knowing it. LibTorch only:
// the implementation over c10d lives in core/training/distributed.*.
//
// Defined in training_recipe.cpp, beside clippedStep.

#include <torch/torch.h>

#include <vector>

namespace le {

class GradientSync {
public:
    virtual ~GradientSync() = default;

    virtual int rank() const = 0;       // 0 .. worldSize() - 1; rank 0 leads
    virtual int worldSize() const = 0;  // workers in the group

    // Every worker calls these in the same order with tensors of the same size and dtype
    // (contiguous). Each replaces `values` in place: by their sum over the workers, or by rank 0's.
    virtual void allReduceSum(torch::Tensor& values) = 0;
    virtual void broadcastFromRankZero(torch::Tensor& values) = 0;

    // Each parameter's gradient replaced by its mean over the workers, as one bucket (one
    // collective per step rather than one per tensor). A gradient undefined here counts as zero
    // and comes back defined when any worker had one, so all replicas step the same parameters.
    void averageGradients(const std::vector<torch::Tensor>& parameters);
    // Every worker's tensors take rank 0's values, in place (one bucket; no autograd).
    void broadcast(const std::vector<torch::Tensor>& tensors);
    // Every worker's tensors take their mean over the workers, in place (one bucket, summed in
    // double; no autograd).
    void average(const std::vector<torch::Tensor>& tensors);
};

// The calling thread's sync; nullptr when it trains alone.
GradientSync* currentGradientSync();

// Installs `sync` (nullptr: none) for the calling thread while it lives; the previous one after.
class ScopedGradientSync {
public:
    explicit ScopedGradientSync(GradientSync* sync);
    ~ScopedGradientSync();
    ScopedGradientSync(const ScopedGradientSync&) = delete;
    ScopedGradientSync& operator=(const ScopedGradientSync&) = delete;

private:
    GradientSync* m_previous;
};

}  // namespace le
