// The interactive path: one latent decoded to an 8-bit image through the engine the worker owns,
// and a drag burst through the worker thread to the GUI thread's event loop.

#include "bench.h"
#include "core/data/datasets.h"

#include "core/interactive/engine.h"
#include "core/interactive/worker.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QJsonArray>
#include <QTimer>

#include <cmath>
#include <functional>
#include <map>
#include <random>

namespace le::bench {

namespace {

constexpr int kDecodeRequests = 500;
constexpr int kDragRequests = 200;
constexpr double kDragHz = 120.0;

// Latents as a drag produces them: the map's mean plus random coordinates within ±3 standard
// deviations along its first two directions.
std::vector<QVector<float>> dragLatents(const LatentMap& map, int count, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> unit(-3.0f, 3.0f);
    std::vector<QVector<float>> latents;
    for (int i = 0; i < count; ++i) {
        QVector<float> coords(std::min(2, map.componentCount()), 0.0f);
        for (int c = 0; c < coords.size(); ++c) coords[c] = unit(rng) * map.stddev[c];
        latents.push_back(map.latentFor(coords));
    }
    return latents;
}

Summary decodeLatency(ModelEngine& engine, const std::vector<QVector<float>>& latents) {
    for (int i = 0; i < 20; ++i) engine.decode(latents[size_t(i) % latents.size()]);  // warm-up
    std::vector<double> ms;
    ms.reserve(latents.size());
    for (const auto& z : latents) {
        const auto start = Clock::now();
        const cv::Mat image = engine.decode(z);
        ms.push_back(msSince(start));
        if (image.empty()) throw std::runtime_error("decode returned no image");
    }
    return summarize(std::move(ms));
}

// Waits in a local event loop until `done` holds or the timeout passes.
bool waitFor(const std::function<bool()>& done, int timeoutMs) {
    QEventLoop loop;
    QTimer poll;
    poll.setTimerType(Qt::PreciseTimer);
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (done()) loop.quit();
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    poll.start(1);
    if (!done()) loop.exec();
    return done();
}

struct DragRun {
    Summary latency;
    int answered = 0;
    bool finalAnswered = false;
    int decodesRun = 0;
    QString error;
};

// 200 requests at 120 Hz from the GUI thread; every answer's time from its request entering the
// worker to its arrival back on this (the GUI) thread.
DragRun dragBurst(const BenchModel& model, const QString& device) {
    DragRun run;
    WorkerThread thread;
    InteractiveWorker* worker = thread.worker();
    QObject context;  // lives in this thread: the slots below run here, as the GUI's would
    std::optional<LatentMap> map;
    QObject::connect(worker, &InteractiveWorker::modelLoaded, &context,
                     [&](const ModelInfo&, const LatentMap& m) { map = m; });
    QObject::connect(worker, &InteractiveWorker::failed, &context,
                     [&](const QString& message) { run.error = message; });
    worker->requestLoad(model.checkpoint, device);
    if (!waitFor([&] { return map.has_value() || !run.error.isEmpty(); }, 600000) || !map) {
        if (run.error.isEmpty()) run.error = QStringLiteral("the model did not load");
        return run;
    }

    const std::vector<QVector<float>> latents = dragLatents(*map, kDragRequests, 7);
    std::vector<Clock::time_point> sent(kDragRequests + 1);
    std::vector<double> latency;
    QObject::connect(worker, &InteractiveWorker::decoded, &context, [&](const DecodeResult& r) {
        const double ms =
            std::chrono::duration<double, std::milli>(Clock::now() - sent[r.id]).count();
        latency.push_back(ms);
        if (!r.error.isEmpty()) run.error = r.error;
        if (r.id == quint64(kDragRequests)) run.finalAnswered = true;
    });

    // A 1 ms precise timer releases each request at its 120 Hz slot.
    const auto start = Clock::now();
    int next = 1;
    QTimer pacer;
    pacer.setTimerType(Qt::PreciseTimer);
    QObject::connect(&pacer, &QTimer::timeout, &context, [&] {
        while (next <= kDragRequests && msSince(start) >= (next - 1) * 1000.0 / kDragHz) {
            sent[size_t(next)] = Clock::now();
            worker->requestDecode(quint64(next), latents[size_t(next - 1)]);
            ++next;
        }
        if (next > kDragRequests) pacer.stop();
    });
    pacer.start(1);
    waitFor([&] { return run.finalAnswered; }, int(kDragRequests * 1000 / kDragHz) + 30000);
    run.answered = int(latency.size());
    run.latency = summarize(latency);
    run.decodesRun = worker->decodesRun();
    return run;
}

}  // namespace

QJsonObject benchDecode(Context& context) {
    // As the interactive worker runs it: LibTorch single-threaded in this thread (core/threads.h);
    // the process-wide setting comes back for the suites after this one.
    useOneTorchThreadHere();
    struct RestoreThreads {
        int n;
        ~RestoreThreads() { torch::set_num_threads(n); }
    } restore{context.threads.torchThreads};
    QJsonObject perFamily, detail;
    QJsonArray notApplicable;
    for (const BenchModel& model : context.models) {
        if (!model.canDecode) {
            notApplicable.append(model.family);
            detail.insert(model.label(), QJsonObject{{"family", model.family},
                                                     {"applicable", false},
                                                     {"why",
                                                      "no latent to decode (latentDim 0); see "
                                                      "pixelcnn_sample_s"}});
            continue;
        }
        logLine(QStringLiteral("decode: %1").arg(model.label()));
        ModelEngine engine;
        const ModelInfo info = engine.load(model.checkpoint, context.device);
        const Dataset data =
            loadDatasetByName(info.dataset, false, 0, context.quick ? 300 : 1000, info.shape);
        const LatentMap map = engine.buildLatentMap(data, 8, context.quick ? 300 : 1000);
        const Summary s = decodeLatency(engine, dragLatents(map, kDecodeRequests, 1));
        QJsonObject entry = toJson(s);
        entry.insert("family", model.family);
        entry.insert("shipped", model.shipped);
        entry.insert("checkpoint", model.checkpoint);
        entry.insert("latent_dim", qint64(info.latentDim));
        detail.insert(model.label(), entry);
        // The worst checkpoint of a family stands for it.
        perFamily.insert(model.family,
                         std::max(s.p99, perFamily.value(model.family).toDouble(0.0)));
    }
    return QJsonObject{{"decode_p99_ms", perFamily},
                       {"decode", QJsonObject{{"models", detail},
                                              {"requests", kDecodeRequests},
                                              {"not_applicable", notApplicable},
                                              {"device", context.device}}}};
}

QJsonObject benchDrag(Context& context) {
    registerCoreMetaTypes();
    double worst = 0;
    bool allFinal = true;
    QJsonObject detail;
    for (const BenchModel& model : context.models) {
        if (!model.canDecode) continue;
        logLine(QStringLiteral("drag burst: %1").arg(model.label()));
        const DragRun run = dragBurst(model, context.device);
        QJsonObject entry = toJson(run.latency);
        entry.insert("answered", run.answered);
        entry.insert("final_answered", run.finalAnswered);
        entry.insert("decodes_run", run.decodesRun);
        if (!run.error.isEmpty()) entry.insert("error", run.error);
        detail.insert(model.label(), entry);
        worst = std::max(worst, run.latency.p99);
        allFinal = allFinal && run.finalAnswered && run.error.isEmpty();
        if (context.quick) break;  // the first model (the GUI's default family) is enough
    }
    return QJsonObject{{"drag_p99_ms", worst},
                       {"drag", QJsonObject{{"models", detail},
                                            {"requests", kDragRequests},
                                            {"rate_hz", kDragHz},
                                            {"final_always_answered", allFinal}}}};
}

}  // namespace le::bench
