#pragma once

// Reuse of large CPU tensor blocks during training.
//
// A training step allocates the same large tensors every step (activations, their gradients,
// logits). glibc returns blocks over its mmap threshold (at most 32 MiB) and the freed top of its
// heaps to the kernel, so every step faulted them in again: perf put 26 % of a PixelCNN training
// step in the kernel's page-fault path. While a ScopedTensorCache lives, freed CPU tensor blocks
// of at least 1 MiB are kept and handed to the next allocation of (nearly) the same size; when
// the last scope ends the kept blocks are freed, so the GUI's memory is back as it was.
// LE_TENSOR_CACHE=0 turns it off (for A/B measurements). LibTorch 1.x only: LibTorch 2 changed
// the allocator interface, and there a scope is a no-op.

#include <cstdint>

namespace le {

class ScopedTensorCache {
public:
    ScopedTensorCache();
    ~ScopedTensorCache();
    ScopedTensorCache(const ScopedTensorCache&) = delete;
    ScopedTensorCache& operator=(const ScopedTensorCache&) = delete;

    // Whether this scope caches (false when turned off or unsupported).
    bool active() const { return m_active; }

private:
    bool m_active = false;
};

struct TensorCacheStats {
    int64_t hits = 0;        // allocations served from kept blocks
    int64_t misses = 0;      // cached-size allocations that needed a fresh block
    int64_t keptBytes = 0;   // bytes in kept, unused blocks now
    int64_t liveBlocks = 0;  // blocks handed out and not yet freed
};
TensorCacheStats tensorCacheStats();

}  // namespace le
