#include "core/training/tensor_cache.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>

#if TORCH_VERSION_MAJOR < 2
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#endif

namespace le {

#if TORCH_VERSION_MAJOR < 2

namespace {

// Smaller blocks stay with glibc, whose heap keeps them without faults (and reuses them sooner).
constexpr size_t kMinKeptBytes = size_t{4} << 20;
// A kept block serves a request up to this fraction (1/8) larger than it needs.
constexpr size_t kSlackDivisor = 8;
// Beyond this, freed blocks go back to the system even inside a scope.
constexpr size_t kMaxKeptBytes = size_t{2} << 30;

bool turnedOff() {
    const char* value = std::getenv("LE_TENSOR_CACHE");
    return value && std::strcmp(value, "0") == 0;
}

// Wraps the CPU allocator in place: while a scope is open, large blocks get this allocator's
// deleter and come back to its free list. The data pointer is its own context, so LibTorch's raw
// allocation path works too. oneDNN frees its raw blocks through whichever CPU allocator is
// current at that moment, so blocks this allocator does not know go to the base's raw deleter.
class CachingCpuAllocator final : public c10::Allocator {
public:
    explicit CachingCpuAllocator(c10::Allocator* base)
        : m_base(base), m_baseRawDeleter(base->raw_deleter()) {}

    c10::DataPtr allocate(size_t bytes) const override {
        if (bytes < kMinKeptBytes || m_scopes.load() == 0) return m_base->allocate(bytes);
        // allocate is const in c10::Allocator; the free lists are this allocator's own state.
        void* data = const_cast<CachingCpuAllocator*>(this)->take(bytes);
        return {data, data, &CachingCpuAllocator::release, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }

    void open() { ++m_scopes; }
    void close() {
        if (--m_scopes > 0) return;
        std::lock_guard<std::mutex> lock(m_mutex);
        for (const auto& [size, data] : m_kept) c10::free_cpu(data);
        m_kept.clear();
        m_keptBytes = 0;
    }

    TensorCacheStats stats() {
        std::lock_guard<std::mutex> lock(m_mutex);
        TensorCacheStats s;
        s.hits = m_hits;
        s.misses = m_misses;
        s.keptBytes = int64_t(m_keptBytes);
        s.liveBlocks = int64_t(m_live.size());
        return s;
    }

    static CachingCpuAllocator* instance;

private:
    void* take(size_t bytes) {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto found = m_kept.lower_bound(bytes);
        if (found != m_kept.end() && found->first <= bytes + bytes / kSlackDivisor) {
            // The most recently freed block of that size: its pages are likeliest still cached.
            found = std::prev(m_kept.upper_bound(found->first));
            void* data = found->second;
            m_live.emplace(data, found->first);
            m_keptBytes -= found->first;
            m_kept.erase(found);
            ++m_hits;
            return data;
        }
        ++m_misses;
        void* data = c10::alloc_cpu(bytes);
        m_live.emplace(data, bytes);
        return data;
    }

    static void release(void* data) { instance->giveBack(data); }

    void giveBack(void* data) {
        std::unique_lock<std::mutex> lock(m_mutex);
        const auto live = m_live.find(data);
        if (live == m_live.end()) {
            lock.unlock();
            m_baseRawDeleter(data);
            return;
        }
        const size_t size = live->second;
        m_live.erase(live);
        if (m_scopes.load() > 0 && m_keptBytes + size <= kMaxKeptBytes) {
            m_kept.emplace(size, data);
            m_keptBytes += size;
        } else {
            c10::free_cpu(data);
        }
    }

    c10::Allocator* m_base;
    c10::DeleterFnPtr m_baseRawDeleter;
    std::atomic<int> m_scopes{0};
    std::mutex m_mutex;
    std::multimap<size_t, void*> m_kept;  // by size, for best fit
    std::unordered_map<void*, size_t> m_live;
    size_t m_keptBytes = 0;
    int64_t m_hits = 0, m_misses = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

// Installed once, on the first scope, and never removed: tensors it handed out may outlive any
// scope (and static destruction), so the allocator is never destroyed either.
CachingCpuAllocator* installedAllocator() {
    static std::once_flag once;
    std::call_once(once, [] {
        CachingCpuAllocator::instance = new CachingCpuAllocator(c10::GetCPUAllocator());
        c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
    });
    return CachingCpuAllocator::instance;
}

}  // namespace

ScopedTensorCache::ScopedTensorCache() {
    if (turnedOff()) return;
    installedAllocator()->open();
    m_active = true;
}

ScopedTensorCache::~ScopedTensorCache() {
    if (m_active) installedAllocator()->close();
}

TensorCacheStats tensorCacheStats() {
    return CachingCpuAllocator::instance ? CachingCpuAllocator::instance->stats()
                                         : TensorCacheStats{};
}

#else  // LibTorch 2: the allocator interface differs; no caching.

ScopedTensorCache::ScopedTensorCache() = default;
ScopedTensorCache::~ScopedTensorCache() = default;
TensorCacheStats tensorCacheStats() {
    return {};
}

#endif

}  // namespace le
