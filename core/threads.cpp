#include "core/threads.h"

#include <QThread>

#include <torch/torch.h>

#include <dlfcn.h>

#include <cstdlib>

namespace le {
namespace {

using SetThreads = void (*)(int);
using GetThreads = int (*)();

// OpenBLAS is reached through dlsym so the build needs no link to it: with the reference BLAS
// installed instead, these symbols are simply absent.
SetThreads openblasSetter() {
    return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
}
GetThreads openblasGetter() {
    return reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
}

int envInt(const char* name, int fallback) {
    const char* value = std::getenv(name);
    if (!value || !*value) return fallback;
    const int parsed = std::atoi(value);
    return parsed > 0 ? parsed : fallback;
}

// OpenMP's thread count of the calling thread; false where LibTorch was built without OpenMP.
bool setThisThreadsTorchThreads(int threads) {
    // LibTorch sizes a thread's OpenMP team lazily, on its first parallel operation, from the
    // process-wide setting: do that first, so it does not undo the line after.
    at::internal::lazy_init_num_threads();
    SetThreads set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (set) set(threads);
    return set != nullptr;
}

}  // namespace

ThreadSettings configureThreads(int torchThreads, int blasThreads) {
    const int cores = std::max(1, QThread::idealThreadCount());
    torchThreads = envInt("LE_TORCH_THREADS", torchThreads > 0 ? torchThreads : cores);
    blasThreads = envInt("LE_BLAS_THREADS", blasThreads > 0 ? blasThreads : 1);
    torch::set_num_threads(torchThreads);
    if (SetThreads set = openblasSetter()) set(blasThreads);
    return currentThreadSettings();
}

void useOneTorchThreadHere() {
    if (std::getenv("LE_TORCH_THREADS")) return;
    setThisThreadsTorchThreads(1);
}

ScopedTorchThreads::ScopedTorchThreads(int threads) {
    if (threads <= 0 || std::getenv("LE_TORCH_THREADS")) return;
    at::internal::lazy_init_num_threads();
    const int previous = torch::get_num_threads();  // this thread's, under OpenMP
    if (previous != threads && setThisThreadsTorchThreads(threads)) m_previous = previous;
}

ScopedTorchThreads::~ScopedTorchThreads() {
    if (m_previous > 0) setThisThreadsTorchThreads(m_previous);
}

ThreadSettings currentThreadSettings() {
    ThreadSettings s;
    s.torchThreads = torch::get_num_threads();
    if (GetThreads get = openblasGetter()) {
        s.blasThreads = get();
        s.blas = QStringLiteral("openblas");
    } else {
        s.blas = QStringLiteral("reference");
    }
    return s;
}

}  // namespace le
