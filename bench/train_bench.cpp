// Training throughput per family: the project's Trainer (data loading included) against the
// Python reference in bench/reference_train.py, which builds the same network, loss, optimiser and
// batch on the same LibTorch (python3-torch) with the same thread settings. Both sides run the
// same number of steps after the same warm-up, one after the other in this run, in three
// alternating rounds whose median ratio is reported.

#include "bench.h"

#include "core/data/fashion_mnist.h"
#include "core/training/trainer.h"

#include <QJsonArray>

namespace le::bench {

namespace {

const QStringList kTrainFamilies{"vae", "dcgan", "glow", "pixelcnn", "vqvae"};
// The families' training batch; --quick uses a smaller one on both sides (a smoke test).
constexpr int64_t kBatch = 64;
constexpr int64_t kQuickBatch = 16;
// C++ and Python alternate this many times per family, sharing the family's time budget.
constexpr int kRounds = 3;

QJsonObject runReference(Context& context, const QString& family, int64_t batch, int64_t warmup,
                         int64_t steps, int threads) {
    const QStringList args{context.referenceScript,
                           QStringLiteral("--family"),
                           family,
                           QStringLiteral("--batch"),
                           QString::number(batch),
                           QStringLiteral("--warmup"),
                           QString::number(warmup),
                           QStringLiteral("--steps"),
                           QString::number(steps),
                           QStringLiteral("--threads"),
                           QString::number(threads),
                           QStringLiteral("--data"),
                           defaultFashionMnistDir(),
                           QStringLiteral("--limit"),
                           QString::number(context.trainingImages()),
                           QStringLiteral("--device"),
                           context.device};
    const auto out = runProcess(context.python, args, context.childEnvironment(), 1800);
    return out ? lastJsonLine(*out) : QJsonObject{};
}

}  // namespace

// The trainer is given a long run and cancelled once measured, so that its periodic work (the
// last-good-weights copy, the parameter check) comes at the period a real run has.
TrainMeasure measureTrainer(Context& context, const QString& family, int64_t batch, int64_t warmup,
                            double seconds, int64_t minSteps, int64_t exactSteps) {
    const Dataset& data = context.trainingData();
    torch::manual_seed(1);
    ModelConfig config;
    writeImageShape(config, data.shape);
    auto model = ModelRegistry::instance().create(family.toStdString(), config,
                                                  parseDevice(context.device.toStdString()));
    TrainOptions options;
    options.steps = 1000000;
    options.batchSize = batch;
    options.evalImages = batch;
    Trainer trainer(*model, data, options);
    TrainMeasure m;
    Clock::time_point start;
    trainer.setProgressCallback([&](const TrainProgress& p) {
        if (p.step == warmup) start = Clock::now();
        if (p.step <= warmup) return;
        const int64_t measured = p.step - warmup;
        const double elapsed = msSince(start) / 1000.0;
        const bool enough =
            exactSteps > 0 ? measured >= exactSteps : (elapsed >= seconds && measured >= minSteps);
        if (!enough) return;
        m.steps = measured;
        m.seconds = elapsed;
        m.imagesPerSecond = double(measured * batch) / elapsed;
        m.threads = torch::get_num_threads();  // this thread's, as the trainer set it
        trainer.cancel();
    });
    trainer.run();
    return m;
}

QJsonObject benchTraining(Context& context) {
    // A PixelCNN step takes seconds on two cores: the minimum step counts are kept small, the
    // time budget decides for the fast families.
    const int64_t warmup = context.quick ? 1 : 3;
    const double seconds =
        context.trainSeconds > 0 ? context.trainSeconds : (context.quick ? 1.0 : 20.0);
    const int64_t minSteps = context.quick ? 1 : 3;
    const int64_t batch = context.quick ? kQuickBatch : kBatch;
    const int roundCount = context.quick ? 1 : kRounds;
    context.trainingData();  // loaded before the clock starts
    QJsonObject ratios, detail;
    for (const QString& family : kTrainFamilies) {
        if (!context.trainFamilies.isEmpty() && !context.trainFamilies.contains(family)) continue;
        // Rounds of C++ then Python, each round's ratio kept and the median reported: the two
        // cores are noisy, and one slow stretch of either side used to decide a verdict alone.
        std::vector<double> roundRatios;
        QJsonArray rounds;
        double cppIps = 0, pyIps = 0, cppSeconds = 0, pySeconds = 0, flops = 0;
        int64_t steps = 0;
        int threads = 0;
        for (int round = 1; round <= roundCount; ++round) {
            logLine(QStringLiteral("training: %1 (C++, round %2)").arg(family).arg(round));
            const TrainMeasure cpp =
                measureTrainer(context, family, batch, warmup, seconds / roundCount, minSteps, 0);
            logLine(QStringLiteral("training: %1 (Python reference, %2 steps)")
                        .arg(family)
                        .arg(cpp.steps));
            // The reference runs on the threads the trainer chose for this family.
            const QJsonObject py =
                runReference(context, family, batch, warmup, cpp.steps, cpp.threads);
            const double ips = py.value("images_per_second").toDouble(0.0);
            if (ips > 0) roundRatios.push_back(cpp.imagesPerSecond / ips);
            rounds.append(QJsonObject{{"cpp_images_per_s", cpp.imagesPerSecond},
                                      {"python_images_per_s", ips},
                                      {"steps", qint64(cpp.steps)}});
            cppIps += cpp.imagesPerSecond / roundCount;
            pyIps += ips / roundCount;
            cppSeconds += cpp.seconds;
            pySeconds += py.value("seconds").toDouble(0.0);
            steps += cpp.steps;
            threads = cpp.threads;
            flops = py.value("flops_per_image").toDouble(flops);
        }
        QJsonObject entry{{"cpp_images_per_s", cppIps},
                          {"python_images_per_s", pyIps},
                          {"steps", qint64(steps)},
                          {"warmup", qint64(warmup)},
                          {"batch", qint64(batch)},
                          {"threads", threads},
                          {"rounds", rounds},
                          {"cpp_seconds", cppSeconds},
                          {"python_seconds", pySeconds},
                          {"train_flops_per_image", flops}};
        if (flops > 0 && context.matmulGflops > 0) {
            const double gflops = cppIps * flops / 1e9;
            entry.insert("cpp_gflops", gflops);
            entry.insert("cpp_fraction_of_matmul", gflops / context.matmulGflops);
            entry.insert("python_fraction_of_matmul", pyIps * flops / 1e9 / context.matmulGflops);
        }
        if (roundRatios.size() == size_t(roundCount)) {
            ratios.insert(family, summarize(roundRatios).p50);
        } else {
            entry.insert("error", "the Python reference gave no result");
        }
        if (family == QLatin1String("vqvae")) entry.insert("phase", "autoencoder (phase 1)");
        detail.insert(family, entry);
    }
    return QJsonObject{
        {"train_ratio", ratios},
        {"training", QJsonObject{{"families", detail},
                                 {"dataset", "fashion-mnist"},
                                 {"train_images", qint64(context.trainingData().train.size())},
                                 {"reference", context.referenceScript},
                                 {"python", context.python}}}};
}

}  // namespace le::bench
