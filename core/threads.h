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

}  // namespace le
