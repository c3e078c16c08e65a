// Model compute apart from the GUI: a full PixelCNN sample by the naive and the cached path, Glow's
// exact encode and decode of a batch, and the dense matrix product that bounds them all.

#include "bench.h"
#include "core/data/datasets.h"

#include "core/storage/checkpoint.h"
#include "core/interactive/engine.h"
#include "models/glow.h"

#include <torch/torch.h>

#include <dlfcn.h>

#include <algorithm>

namespace le::bench {

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

struct SampleRun {
    double seconds = 0;
    torch::Tensor values;
};

// The first `positions` steps of a sample (all of them when 0).
SampleRun sampleOnce(GenerativeModel& model, bool cached, uint64_t seed, int64_t positions = 0) {
    SamplerOptions options;
    options.seed = seed;
    options.cached = cached;
    const auto start = Clock::now();
    auto sampler = model.sampler(options);
    while (!sampler->done() && (positions == 0 || sampler->stepsDone() < positions))
        sampler->step();
    SampleRun run;
    run.seconds = msSince(start) / 1000.0;
    run.values = sampler->values();
    return run;
}

// OpenBLAS's pool, reached as core/threads.cpp does; 0 when OpenBLAS is not the BLAS.
int setBlasThreads(int threads) {
    using Get = int (*)();
    using Set = void (*)(int);
    auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (!get || !set) return 0;
    const int before = get();
    set(threads);
    return before;
}

}  // namespace

QJsonObject benchPixelCnn(Context& context) {
    const BenchModel chosen = context.samplingPixelCnn();
    LoadedCheckpoint loaded =
        loadCheckpoint(chosen.checkpoint, parseDevice(context.device.toStdString()));
    GenerativeModel& model = *loaded.model;
    model.train(false);
    logLine(QStringLiteral("pixelcnn sampling: %1").arg(chosen.label()));
    const int cachedRuns = context.quick ? 1 : 5;
    const int naiveRuns = context.quick ? 1 : 2;
    // The naive path costs a full forward pass per position (tens of seconds a sample): --quick
    // compares the first four rows only, where both paths do the same steps.
    const int64_t width = model.imageShape().width * model.imageShape().channels;
    const int64_t naivePositions = context.quick ? 4 * width : 0;
    sampleOnce(model, true, 99);  // warm-up
    std::vector<double> cached, cachedPrefix, naive;
    bool identical = true;
    for (int i = 0; i < cachedRuns; ++i) {
        const uint64_t seed = uint64_t(i) + 1;
        cached.push_back(sampleOnce(model, true, seed).seconds);
        if (i >= naiveRuns) continue;
        const SampleRun c = sampleOnce(model, true, seed, naivePositions);
        const SampleRun n = sampleOnce(model, false, seed, naivePositions);
        cachedPrefix.push_back(c.seconds);
        naive.push_back(n.seconds);
        identical = identical && torch::equal(c.values, n.values);
    }
    const double cachedS = median(cached), naiveS = median(naive);
    const double speedup = naiveS / median(cachedPrefix);
    const int64_t total = model.imageShape().numel();
    return QJsonObject{
        {"pixelcnn_sample_s", cachedS},
        {"pixelcnn_cached_speedup", speedup},
        {"pixelcnn_bit_identical", identical},
        {"pixelcnn",
         QJsonObject{{"model", chosen.label()},
                     {"shape", QString::fromStdString(model.imageShape().toString())},
                     {"cached_s_median", cachedS},
                     {"naive_s_median", naiveS},
                     {"compared_positions", qint64(naivePositions > 0 ? naivePositions : total)},
                     {"positions", qint64(total)},
                     {"cached_runs", cachedRuns},
                     {"naive_runs", naiveRuns},
                     {"bit_identical_same_seed", identical}}}};
}

QJsonObject benchGlow(Context& context) {
    const BenchModel chosen = context.modelsOf(QStringLiteral("glow")).front();
    LoadedCheckpoint loaded =
        loadCheckpoint(chosen.checkpoint, parseDevice(context.device.toStdString()));
    auto* glow = dynamic_cast<Glow*>(loaded.model.get());
    if (!glow) throw std::runtime_error("glow checkpoint is not a Glow");
    const Dataset data = loadDatasetByName(chosen.dataset, false, 0, 64, glow->imageShape());
    const torch::Tensor x = data.test.images.slice(0, 0, 64).to(glow->device());
    // An untrained flow gets its data-dependent actnorm init, as its first training step would.
    if (!glow->initialized()) glow->initialize(x);
    glow->train(false);
    torch::NoGradGuard noGrad;
    logLine(QStringLiteral("glow encode/decode: %1").arg(chosen.label()));
    const int repeats = context.quick ? 3 : 10;
    std::vector<double> encodeMs, decodeMs;
    torch::Tensor z, back;
    for (int i = 0; i < repeats + 1; ++i) {
        auto start = Clock::now();
        z = glow->encode(x);
        const double e = msSince(start);
        start = Clock::now();
        back = glow->decode(z);
        const double d = msSince(start);
        if (i == 0) continue;  // warm-up
        encodeMs.push_back(e);
        decodeMs.push_back(d);
    }
    const double maxAbs = (back - x).abs().max().item<double>();
    return QJsonObject{{"glow_roundtrip_max_abs", maxAbs},
                       {"glow", QJsonObject{{"model", chosen.label()},
                                            {"batch", 64},
                                            {"encode_ms_median", median(encodeMs)},
                                            {"decode_ms_median", median(decodeMs)},
                                            {"roundtrip_max_abs_8bit", maxAbs * 127.5},
                                            {"repeats", repeats}}}};
}

double matmulGflops(int64_t n, int repeats) {
    torch::NoGradGuard noGrad;
    const torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
    torch::Tensor c = torch::mm(a, b);  // warm-up
    double best = 0;
    for (int i = 0; i < repeats; ++i) {
        const auto start = Clock::now();
        c = torch::mm(a, b);
        const double s = msSince(start) / 1000.0;
        best = std::max(best, 2.0 * double(n) * double(n) * double(n) / s / 1e9);
    }
    return best;
}

// torch::mm runs in the BLAS, whose pool the app keeps at one thread; the machine's ceiling is
// the best over one and two BLAS threads.
QJsonObject benchMatmul(Context& context) {
    const int64_t n = 2048;
    const int repeats = context.quick ? 3 : 8;
    logLine(QStringLiteral("matmul %1×%1").arg(n));
    const double atApp = matmulGflops(n, repeats);
    QJsonObject byBlas{{"app_settings", atApp}};
    double best = atApp;
    for (int threads : {1, 2}) {
        const int before = setBlasThreads(threads);
        if (before == 0) break;
        const double g = matmulGflops(n, repeats);
        setBlasThreads(before);
        byBlas.insert(QStringLiteral("blas_threads_%1").arg(threads), g);
        best = std::max(best, g);
    }
    context.matmulGflops = best;
    return QJsonObject{
        {"matmul_gflops", best},
        {"matmul", QJsonObject{{"n", qint64(n)}, {"dtype", "float32"}, {"gflops", byBlas}}}};
}

}  // namespace le::bench
