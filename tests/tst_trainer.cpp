#include "core/storage/checkpoint.h"
#include "core/errors.h"
#include "core/training/tensor_cache.h"
#include "test_support.h"
#include "core/training/trainer.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <torch/version.h>

#include <thread>

using namespace le;

namespace {

// A real VAE whose training step reports NaN from a chosen step on: the NaN guard's subject.
// It can also ask for a number of training threads (no shipped family asks for fewer than all).
class DivergingVae final : public GenerativeModel {
public:
    explicit DivergingVae(int64_t nanFrom, int threads = 0)
        : m_inner(test::smallVae()), m_nanFrom(nanFrom), m_threads(threads) {}
    int trainingThreads() const override { return m_threads; }

    std::string family() const override { return m_inner->family(); }
    Capabilities capabilities() const override { return m_inner->capabilities(); }
    ModelConfig config() const override { return m_inner->config(); }
    ImageShape imageShape() const override { return m_inner->imageShape(); }
    int64_t latentDim() const override { return m_inner->latentDim(); }
    torch::Tensor decode(const torch::Tensor& z) override { return m_inner->decode(z); }
    torch::Tensor samplePrior(int64_t n, double t, uint64_t s) override {
        return m_inner->samplePrior(n, t, s);
    }
    Metrics trainStep(const torch::Tensor& batch) override {
        Metrics m = m_inner->trainStep(batch);
        if (++m_steps >= m_nanFrom) {
            torch::NoGradGuard noGrad;
            for (auto& p : m_inner->module().parameters()) p.fill_(NAN);  // poison the weights too
            m["loss"] = NAN;
        }
        return m;
    }
    Metrics evaluate(const torch::Tensor& batch) override { return m_inner->evaluate(batch); }
    torch::nn::Module& module() override { return m_inner->module(); }
    void setLearningRate(double lr) override { m_inner->setLearningRate(lr); }

private:
    std::unique_ptr<GenerativeModel> m_inner;
    int64_t m_nanFrom;
    int m_threads;
    int64_t m_steps = 0;
};

Dataset randomImages(int64_t train, int64_t test) {
    torch::manual_seed(11);
    Dataset d;
    d.name = "random";
    d.shape = ImageShape{1, 28, 28};
    d.train.images = torch::rand({train, 1, 28, 28}) * 2 - 1;
    d.test.images = torch::rand({test, 1, 28, 28}) * 2 - 1;
    return d;
}

QList<QJsonObject> readLog(const QString& path) {
    QFile f(path);
    QList<QJsonObject> lines;
    if (!f.open(QIODevice::ReadOnly)) return lines;
    for (const QByteArray& line : f.readAll().split('\n'))
        if (!line.isEmpty()) lines << QJsonDocument::fromJson(line).object();
    return lines;
}

bool allFinite(GenerativeModel& model) {
    for (const auto& p : model.module().parameters())
        if (!torch::isfinite(p).all().item<bool>()) return false;
    return true;
}

}  // namespace

class TestTrainer : public QObject {
    Q_OBJECT

private slots:
    void init() { QVERIFY(m_dir.isValid()); }

    void finishesWritesLogSnapshotsAndCheckpoint() {
        const Dataset data = randomImages(256, 64);
        auto model = test::smallVae();
        TrainOptions options;
        options.steps = 20;
        options.batchSize = 16;
        options.logEvery = 5;
        options.snapshotEvery = 10;
        options.evalEvery = 10;
        options.checkpointPath = m_dir.filePath("run.lec");
        options.runDir = m_dir.filePath("run");
        Trainer trainer(*model, data, options);
        int progressCalls = 0;
        int snapshots = 0;
        trainer.setProgressCallback([&](const TrainProgress& p) {
            ++progressCalls;
            QCOMPARE(p.totalSteps, qint64(20));
        });
        trainer.setSnapshotCallback([&](qint64, const cv::Mat& grid) {
            ++snapshots;
            QVERIFY(!grid.empty());
        });
        const TrainResult result = trainer.run();
        QCOMPARE(result.status, TrainStatus::Finished);
        QCOMPARE(result.steps, qint64(20));
        QCOMPARE(progressCalls, 20);
        QCOMPARE(snapshots, 2);
        QVERIFY(result.heldOut.count("loss"));
        QCOMPARE(readCheckpointHeader(options.checkpointPath).steps, qint64(20));
        QVERIFY(QFile::exists(options.runDir + "/snapshots/step_0000010.png"));
        const auto log = readLog(options.runDir + "/metrics.jsonl");
        QVERIFY(log.size() >= 5);
        QCOMPARE(log.last().value("event").toString(), QString("finished"));
        QVERIFY(log.last().value("test").toObject().contains("loss"));
    }

    void nanStopsAndKeepsLastGoodWeights() {
        const Dataset data = randomImages(256, 64);
        DivergingVae model(/*nanFrom=*/30);
        TrainOptions options;
        options.steps = 100;
        options.batchSize = 8;
        options.checkpointPath = m_dir.filePath("nan.lec");
        options.runDir = m_dir.filePath("nan-run");
        Trainer trainer(model, data, options);
        const TrainResult result = trainer.run();
        QCOMPARE(result.status, TrainStatus::Diverged);
        QVERIFY2(result.message.contains("diverged at step 30"), qPrintable(result.message));
        QVERIFY(result.steps > 0 && result.steps < 30);
        QVERIFY(allFinite(model));
        LoadedCheckpoint kept = loadCheckpoint(options.checkpointPath);
        QCOMPARE(kept.header.steps, result.steps);
        QVERIFY(allFinite(*kept.model));
        const auto log = readLog(options.runDir + "/metrics.jsonl");
        QVERIFY(std::any_of(log.begin(), log.end(),
                            [](const QJsonObject& l) { return l.value("event") == "diverged"; }));
    }

    void cancelInTheMiddleKeepsCompletedSteps() {
        const Dataset data = randomImages(128, 32);
        auto model = test::smallVae();
        TrainOptions options;
        options.steps = 1000;
        options.batchSize = 8;
        options.checkpointPath = m_dir.filePath("cancel.lec");
        Trainer trainer(*model, data, options);
        trainer.setProgressCallback([&](const TrainProgress& p) {
            if (p.step == 7) trainer.cancel();
        });
        const TrainResult result = trainer.run();
        QCOMPARE(result.status, TrainStatus::Cancelled);
        QCOMPARE(result.steps, qint64(7));
        QCOMPARE(readCheckpointHeader(options.checkpointPath).steps, qint64(7));
    }

    // A model trains on the threads it asks for (GenerativeModel::trainingThreads); the calling
    // thread's setting comes back afterwards.
    void runsOnTheModelsTrainingThreads() {
        if (qEnvironmentVariableIsSet("LE_TORCH_THREADS"))
            QSKIP("LE_TORCH_THREADS overrides the family's choice");
        const Dataset data = randomImages(64, 16);
        QCOMPARE(test::smallVae()->trainingThreads(), 0);  // the shipped families: every core
        DivergingVae model(/*nanFrom=*/1000, /*threads=*/1);
        torch::set_num_threads(2);
        QCOMPARE(torch::get_num_threads(), 2);
        TrainOptions options;
        options.steps = 3;
        options.batchSize = 8;
        Trainer trainer(model, data, options);
        QList<int> seen;
        trainer.setProgressCallback(
            [&](const TrainProgress&) { seen << torch::get_num_threads(); });
        QCOMPARE(trainer.run().status, TrainStatus::Finished);
        QCOMPARE(seen, (QList<int>{1, 1, 1}));
        QCOMPARE(torch::get_num_threads(), 2);
    }

    void pauseHoldsAndResumeContinues() {
        const Dataset data = randomImages(128, 32);
        auto model = test::smallVae();
        TrainOptions options;
        options.steps = 30;
        options.batchSize = 8;
        Trainer trainer(*model, data, options);
        std::atomic<qint64> lastStep{0};
        trainer.setProgressCallback([&](const TrainProgress& p) {
            lastStep = p.step;
            if (p.step == 5) trainer.setPaused(true);
        });
        TrainResult result;
        std::thread runner([&] { result = trainer.run(); });
        QTRY_COMPARE(lastStep.load(), qint64(5));
        // Paused: no further step may complete until resumed.
        QTest::qWait(150);
        QCOMPARE(lastStep.load(), qint64(5));
        trainer.setPaused(false);
        runner.join();
        QCOMPARE(result.status, TrainStatus::Finished);
        QCOMPARE(lastStep.load(), qint64(30));
    }

    // Inside a scope, a freed large block serves the next allocation of about its size; small
    // blocks and allocations outside any scope are left to the system allocator, and the last
    // scope to close hands every kept block back.
    void tensorCacheReusesLargeBlocksInsideAScope() {
#if TORCH_VERSION_MAJOR >= 2
        QSKIP("the tensor cache is LibTorch 1.x only");
#endif
        if (qEnvironmentVariableIsSet("LE_TENSOR_CACHE")) QSKIP("LE_TENSOR_CACHE is set");
        const int64_t floats = 2 << 20;  // 8 MiB
        const TensorCacheStats before = tensorCacheStats();
        torch::empty({floats});
        QCOMPARE(tensorCacheStats().hits + tensorCacheStats().misses, before.hits + before.misses);
        torch::Tensor outlives;
        {
            const ScopedTensorCache scope;
            QVERIFY(scope.active());
            const TensorCacheStats start = tensorCacheStats();
            void* first = nullptr;
            {
                const torch::Tensor a = torch::ones({floats});
                first = a.data_ptr();
            }
            QVERIFY(tensorCacheStats().keptBytes >= floats * 4);
            const torch::Tensor b = torch::zeros({floats - floats / 16});  // 1/16 smaller: fits
            QCOMPARE(b.data_ptr(), first);
            QVERIFY(b.eq(0).all().item<bool>());
            QCOMPARE(tensorCacheStats().hits, start.hits + 1);
            const torch::Tensor bigger = torch::empty({2 * floats});  // no kept block fits
            QCOMPARE(tensorCacheStats().misses, start.misses + 2);
            torch::empty({1000});  // small: not counted
            QCOMPARE(tensorCacheStats().hits + tensorCacheStats().misses,
                     start.hits + start.misses + 3);
            outlives = torch::full({floats}, 3.0f);
            // Two threads allocating and freeing at once keep their own values.
            std::atomic<bool> wrong{false};
            auto churn = [&](float value) {
                for (int i = 0; i < 50; ++i) {
                    const torch::Tensor t = torch::full({floats / 2}, value);
                    if (t.sum().item<double>() != double(value) * double(floats / 2)) wrong = true;
                }
            };
            std::thread one(churn, 1.0f), two(churn, 2.0f);
            one.join();
            two.join();
            QVERIFY(!wrong);
        }
        QCOMPARE(tensorCacheStats().keptBytes, int64_t(0));
        QVERIFY(outlives.eq(3.0f).all().item<bool>());
        const int64_t live = tensorCacheStats().liveBlocks;
        outlives = torch::Tensor();  // freed after the scope: to the system, not kept
        QCOMPARE(tensorCacheStats().liveBlocks, live - 1);
        QCOMPARE(tensorCacheStats().keptBytes, int64_t(0));
    }

    // Reused blocks change nothing a model computes: a PixelCNN (whose activations are large
    // enough to be kept) trains to the same losses with the cache on and off.
    void trainingIsTheSameWithAndWithoutTheTensorCache() {
#if TORCH_VERSION_MAJOR >= 2
        QSKIP("the tensor cache is LibTorch 1.x only");
#endif
        const QByteArray saved = qgetenv("LE_TENSOR_CACHE");
        const Dataset data = randomImages(96, 16);
        auto train = [&](bool cache) {
            qputenv("LE_TENSOR_CACHE", cache ? "1" : "0");
            torch::manual_seed(3);
            ModelConfig config;
            writeImageShape(config, data.shape);
            config.set("layers", int64_t{3});
            auto model = ModelRegistry::instance().create("pixelcnn", config);
            TrainOptions options;
            options.steps = 4;
            options.batchSize = 32;
            options.evalImages = 16;
            options.seed = 5;
            Trainer trainer(*model, data, options);
            QList<double> losses;
            int64_t hits = 0;
            trainer.setProgressCallback([&](const TrainProgress& p) {
                losses << p.train.at("loss");
                hits = tensorCacheStats().hits;
            });
            const int64_t hitsBefore = tensorCacheStats().hits;
            if (trainer.run().status != TrainStatus::Finished) return QList<double>{};
            if (cache != (hits > hitsBefore)) return QList<double>{};
            return losses;
        };
        const QList<double> with = train(true), without = train(false);
        if (saved.isNull())
            qunsetenv("LE_TENSOR_CACHE");
        else
            qputenv("LE_TENSOR_CACHE", saved);
        QCOMPARE(with.size(), 4);
        QCOMPARE(with, without);
        QCOMPARE(tensorCacheStats().keptBytes, int64_t(0));
    }

    void rejectsDataOfTheWrongShape() {
        Dataset data = randomImages(16, 4);
        data.train.images = torch::zeros({16, 3, 32, 32});
        auto model = test::smallVae();
        try {
            Trainer trainer(*model, data, TrainOptions{});
            QFAIL("a 3-channel dataset was accepted by a 1-channel model");
        } catch (const ModelError& e) {
            QVERIFY2(QString(e.what()).contains("1×28×28"), e.what());
        }
    }

    // Evaluations and checkpoints use the weight average, and the model ends the run holding
    // it; a run that continues another numbers its steps (log, header, schedule) after it.
    void checkpointsKeepTheWeightAverage() {
        const Dataset data = randomImages(256, 64);
        auto trainWith = [&](double ema, qint64 firstStep, const QString& name) {
            ModelConfig config = test::smallVaeConfig();
            config.set("ema", ema);
            config.set("lr", 5e-3);
            auto model = ModelRegistry::instance().create("vae", config);
            model->setStepsTaken(firstStep);
            TrainOptions options;
            options.steps = 30;
            options.firstStep = firstStep;
            options.batchSize = 16;
            options.evalEvery = 10;
            options.evalImages = 64;
            options.checkpointEvery = 10;
            options.checkpointPath = m_dir.filePath(name + ".lec");
            options.runDir = m_dir.filePath(name);
            torch::manual_seed(3);
            Trainer trainer(*model, data, options);
            const TrainResult result = trainer.run();
            return std::make_pair(std::move(model), result);
        };
        auto [plain, plainResult] = trainWith(0.0, 0, "plain");
        auto [averaged, averagedResult] = trainWith(0.95, 100, "averaged");
        QCOMPARE(plainResult.status, TrainStatus::Finished);
        QCOMPARE(averagedResult.status, TrainStatus::Finished);
        QCOMPARE(averaged->stepsTaken(), qint64(130));

        // The same batches and noise: the live weights of both runs are equal, so the averaged
        // run's final weights differ from the plain run's only by the average.
        const LoadedCheckpoint saved = loadCheckpoint(m_dir.filePath("averaged.lec"));
        QCOMPARE(saved.header.steps, qint64(130));
        bool differs = false;
        const auto live = plain->module().named_parameters();
        const auto kept = saved.model->module().named_parameters();
        for (const auto& p : averaged->module().named_parameters()) {
            QVERIFY(torch::equal(p.value(), kept[p.key()]));  // the model is what was saved
            differs = differs || !torch::allclose(p.value(), live[p.key()]);
        }
        QVERIFY(differs);
        const Metrics reEvaluated = evaluateModel(*saved.model, data.test, 64);
        QVERIFY(qAbs(reEvaluated.at("loss") - averagedResult.heldOut.at("loss")) < 1e-3);

        const QList<QJsonObject> log = readLog(m_dir.filePath("averaged/metrics.jsonl"));
        QVERIFY(!log.isEmpty());
        QCOMPARE(log.first()["step"].toInteger(), qint64(101));
        QCOMPARE(log.last()["step"].toInteger(), qint64(130));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
