#pragma once

#include <QString>

namespace le {

struct ThreadSettings {
    int torchThreads = 0;  // LibTorch intra-op pool
    int blasThreads = 0;   // OpenBLAS pool (0 when no OpenBLAS is loaded)
    QString blas;          // "openblas", or "reference" when OpenBLAS is not the BLAS in use
};

// Sets LibTorch's and OpenBLAS's pools once at start-up. Measured on the 2-core machines: a conv
// training step ran twice as fast with OpenBLAS at one thread and LibTorch at two than with the
// defaults, since two nested pools on two cores oversubscribe them. `torchThreads` 0 = all cores.
// LE_TORCH_THREADS / LE_BLAS_THREADS override, for benchmarks.
ThreadSettings configureThreads(int torchThreads = 0, int blasThreads = 1);
ThreadSettings currentThreadSettings();

// Runs LibTorch single-threaded in the calling thread only (OpenMP's thread count is per thread):
// for the interactive worker and the autoregressive session, whose single-image operations are
// too small to split. Measured by latent-explorer-bench's threads suite: one thread decodes a VAE
// image as fast as two (0.120 against 0.128 ms) and leaves the other core to a training run or
// batch job, which keep both. LE_TORCH_THREADS, when set, applies here too.
void useOneTorchThreadHere();

// LibTorch's thread count in the calling thread for a scope (a training run at the model's
// GenerativeModel::trainingThreads), then the one before. 0, or LE_TORCH_THREADS set: unchanged.
class ScopedTorchThreads {
public:
    explicit ScopedTorchThreads(int threads);
    ~ScopedTorchThreads();
    ScopedTorchThreads(const ScopedTorchThreads&) = delete;
    ScopedTorchThreads& operator=(const ScopedTorchThreads&) = delete;

private:
    int m_previous = 0;  // 0: nothing to restore
};

}  // namespace le
