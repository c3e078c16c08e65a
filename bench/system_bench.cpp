// The machine, the thread settings and memory. Thread settings and peak memory are per process, so
// both are measured in fresh processes of this executable (the probes) or of the GUI.

#include "bench.h"
#include "core/data/datasets.h"

#include "core/storage/checkpoint.h"
#include "core/interactive/engine.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QThread>

#include <torch/torch.h>
#include <torch/version.h>

#include <unistd.h>

#include <iostream>

namespace le::bench {

namespace {

QString cpuModel() {
    QFile info(QStringLiteral("/proc/cpuinfo"));
    if (!info.open(QIODevice::ReadOnly)) return QStringLiteral("unknown");
    for (const QByteArray& line : info.readAll().split('\n'))
        if (line.startsWith("model name"))
            return QString::fromUtf8(line.mid(line.indexOf(':') + 1).trimmed());
    return QStringLiteral("unknown");
}

// Runs the GUI offscreen to its screenshot and returns its peak resident memory (MiB), or 0 when
// it did not finish cleanly. Not from wait4() here: a child forked from this process inherits its
// high-water mark (the kernel copies it through fork and exec), so a bench that has trained for
// minutes would report its own peak. A small Python process starts the GUI instead and reports
// the GUI's own peak (RUSAGE_CHILDREN), which starts from Python's few MiB.
double guiPeakRssMib(const Context& context, const QString& view, const QString& shot,
                     int timeoutS) {
    static const char* kLauncher =
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,\n"
        "                      stderr=subprocess.DEVNULL).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if code == 0 else 0)\n";
    QProcessEnvironment env = context.childEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    const auto out =
        runProcess(context.python,
                   {QStringLiteral("-c"), QString::fromLatin1(kLauncher), context.guiPath,
                    QStringLiteral("--screenshot"), shot, QStringLiteral("--view"), view},
                   env, timeoutS);
    if (!out) return 0;
    const QList<QByteArray> lines = out->trimmed().split('\n');
    return lines.isEmpty() ? 0 : lines.back().trimmed().toDouble() / 1024.0;  // KiB on Linux
}

// One full cached sample (after a warm-up one), seconds.
double pixelcnnSampleSeconds(Context& context) {
    LoadedCheckpoint loaded = loadCheckpoint(context.samplingPixelCnn().checkpoint,
                                             parseDevice(context.device.toStdString()));
    loaded.model->train(false);
    double seconds = 0;
    for (uint64_t seed : {1, 2}) {
        SamplerOptions options;
        options.seed = seed;
        const auto start = Clock::now();
        auto sampler = loaded.model->sampler(options);
        while (!sampler->done()) sampler->step();
        seconds = msSince(start) / 1000.0;
    }
    return seconds;
}

QJsonObject threadSettingsJson(const ThreadSettings& s) {
    return QJsonObject{{"torch_intra_op", s.torchThreads},
                       {"torch_inter_op", at::get_num_interop_threads()},
                       {"blas", s.blasThreads},
                       {"blas_library", s.blas}};
}

}  // namespace

QJsonObject machineInfo(const Context& context) {
    return QJsonObject{
        {"cores", QThread::idealThreadCount()},
        {"cpu_model", cpuModel()},
        {"libtorch_version", QStringLiteral(TORCH_VERSION)},
        {"blas", context.threads.blas},
        {"threads_chosen", threadSettingsJson(context.threads)},
        {"device", context.device},
        {"cuda_available", torch::cuda::is_available()},
        {"omp_wait_policy", qEnvironmentVariable("OMP_WAIT_POLICY", QStringLiteral("default"))},
        {"quick", context.quick}};
}

// One row per setting: the default (the app's choice) and 1 and 2 threads of each pool.
QJsonObject benchThreads(Context& context) {
    struct Setting {
        int torch, blas;
    };
    const std::vector<Setting> settings{{1, 1}, {2, 1}, {1, 2}, {2, 2}};
    QJsonArray rows;
    for (const Setting& s : settings) {
        logLine(QStringLiteral("threads: torch %1, blas %2").arg(s.torch).arg(s.blas));
        QProcessEnvironment env = context.childEnvironment();
        env.insert(QStringLiteral("LE_TORCH_THREADS"), QString::number(s.torch));
        env.insert(QStringLiteral("LE_BLAS_THREADS"), QString::number(s.blas));
        env.insert(QStringLiteral("OPENBLAS_NUM_THREADS"), QString::number(s.blas));
        QStringList args{QStringLiteral("--probe"),      QStringLiteral("threads"),
                         QStringLiteral("--pretrained"), context.pretrainedDir,
                         QStringLiteral("--device"),     context.device};
        if (context.quick) args << QStringLiteral("--quick");
        const auto out = runProcess(context.selfPath, args, env, 900);
        QJsonObject row = out ? lastJsonLine(*out) : QJsonObject{{"error", "probe failed"}};
        row.insert("torch_threads", s.torch);
        row.insert("blas_threads", s.blas);
        row.insert("app_default", s.torch == context.threads.torchThreads &&
                                      s.blas == context.threads.blasThreads);
        rows.append(row);
    }
    return QJsonObject{{"threads", QJsonObject{{"settings", rows},
                                               {"chosen", threadSettingsJson(context.threads)}}}};
}

int probeThreads(Context& context) {
    QJsonObject result{{"threads", threadSettingsJson(currentThreadSettings())}};
    const double seconds = context.quick ? 1.0 : 6.0;
    for (const QString family : {"vae", "glow"}) {
        if (context.quick && family == QLatin1String("glow")) continue;
        const TrainMeasure m = measureTrainer(context, family, 64, 2, seconds, 2, 0);
        result.insert(family + QStringLiteral("_train_images_per_s"), m.imagesPerSecond);
    }
    for (const BenchModel& model : context.models) {
        if (!model.canDecode) continue;
        ModelEngine engine;
        const ModelInfo info = engine.load(model.checkpoint, context.device);
        QVector<float> z(int(info.latentDim), 0.0f);
        for (int i = 0; i < 10; ++i) engine.decode(z);
        std::vector<double> ms;
        for (int i = 0; i < (context.quick ? 100 : 300); ++i) {
            z[0] = float(i % 7) * 0.1f;
            const auto start = Clock::now();
            engine.decode(z);
            ms.push_back(msSince(start));
        }
        const Summary s = summarize(ms);
        result.insert("decode_model", model.label());
        result.insert("decode_p50_ms", s.p50);
        result.insert("decode_p99_ms", s.p99);
        break;  // the GUI's default family
    }
    if (!context.quick) result.insert("pixelcnn_sample_s", pixelcnnSampleSeconds(context));
    result.insert("matmul_gflops", matmulGflops(1024, 3));
    std::cout << QJsonDocument(result).toJson(QJsonDocument::Compact).toStdString() << std::endl;
    return 0;
}

// Every shipped generative model loaded as the GUI loads it: the checkpoint into the worker's
// engine (all stay cached), its latent map over 4000 test images, one decode; an autoregressive
// model steps a row of its sampler.
int probeMemory(Context& context) {
    ModelEngine engine;
    QJsonArray loaded;
    for (const BenchModel& model : context.models) {
        if (!model.shipped) continue;
        const ModelInfo info = engine.load(model.checkpoint, context.device);
        if (model.canDecode) {
            const Dataset data = loadDatasetByName(info.dataset, false, 0, 4000, info.shape);
            engine.decode(engine.buildLatentMap(data).latentFor({}));
        }
        if (model.autoregressive) {
            torch::NoGradGuard noGrad;
            auto sampler = engine.current().sampler(SamplerOptions{});
            for (int i = 0; i < 28 && !sampler->done(); ++i) sampler->step();
        }
        loaded.append(model.label());
    }
    const QJsonObject result{{"peak_rss_mib", peakRssMib()}, {"models", loaded}};
    std::cout << QJsonDocument(result).toJson(QJsonDocument::Compact).toStdString() << std::endl;
    return 0;
}

QJsonObject benchMemory(Context& context) {
    logLine(QStringLiteral("memory: every shipped model loaded in a fresh process"));
    QStringList args{QStringLiteral("--probe"),      QStringLiteral("memory"),
                     QStringLiteral("--pretrained"), context.pretrainedDir,
                     QStringLiteral("--device"),     context.device};
    const auto out = runProcess(context.selfPath, args, context.childEnvironment(), 900);
    const QJsonObject probe = out ? lastJsonLine(*out) : QJsonObject{};
    double peak = probe.value("peak_rss_mib").toDouble(0.0);
    QJsonObject detail{{"models_process_mib", peak},
                       {"models", probe.value("models")},
                       {"method",
                        "VmHWM of a fresh bench process that loads every shipped "
                        "model as the GUI's worker does (checkpoint, latent map over "
                        "4000 test images, a decode; a sampler row for autoregressive "
                        "models)"}};
    if (!context.guiPath.isEmpty() && QFileInfo(context.guiPath).isExecutable()) {
        QJsonObject gui;
        for (const QString view : {"map", "inversion", "autoregressive"}) {
            logLine(QStringLiteral("memory: the GUI offscreen, view %1").arg(view));
            const double mib =
                guiPeakRssMib(context, view, context.tempDir + "/shot-" + view + ".png", 300);
            gui.insert(view, mib > 0 ? QJsonValue(mib) : QJsonValue("failed"));
            peak = std::max(peak, mib);
        }
        detail.insert("gui_screenshot_mib", gui);
        detail.insert("gui", context.guiPath);
    } else {
        detail.insert("gui_screenshot_mib", "not measured: the GUI is not built");
    }
    return QJsonObject{{"peak_rss_mib", peak}, {"memory", detail}};
}

}  // namespace le::bench
