// Data-parallel training on c10d's Gloo over loopback: two workers (threads of this process, then
// processes of latent-explorer-cli --nproc 2) keep identical replicas and train as one process at
// twice the batch; a worker killed mid-run ends the run with an error naming it, and the last
// checkpoint still loads. The model is a tiny PixelCNN: its training step draws no noise, so one
// process and two workers see the same numbers up to the order of float sums.

#include "core/errors.h"
#include "core/storage/checkpoint.h"
#include "core/training/distributed.h"
#include "core/training/trainer.h"
#include "core/training/worker_launcher.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <torch/torch.h>

#include <sys/types.h>
#include <csignal>
#include <thread>

using namespace le;

namespace {

// Per-step losses and final weights within these of one process's at twice the batch. The two
// runs add the same numbers in another order (a mean over 8 images against the mean of two
// means over 4; the gradient summed by the allreduce), so they differ by float rounding, about
// 1e-7 relative per step, which Adam's normalised steps (at most about lr = 1e-3 per weight)
// do not amplify over a dozen steps: measured 3e-8 for the weights. The bounds leave a margin
// of 300 for other CPUs and kernels.
constexpr double kLossTolerance = 1e-5;    // relative, per step
constexpr double kWeightTolerance = 1e-5;  // absolute, largest over all weights

ModelConfig tinyPixelCnnConfig(const ImageShape& shape) {
    ModelConfig c;
    writeImageShape(c, shape);
    c.set("hidden", int64_t{8});
    c.set("layers", int64_t{2});
    return c;
}

std::unique_ptr<GenerativeModel> tinyPixelCnn(uint64_t initSeed) {
    torch::manual_seed(initSeed);
    return ModelRegistry::instance().create("pixelcnn", tinyPixelCnnConfig(ImageShape{1, 12, 12}));
}

Dataset blobs(int64_t size = 12) {
    torch::manual_seed(7);
    Dataset d;
    d.name = "blobs";
    d.shape = ImageShape{1, size, size};
    // Smooth random images (upsampled noise), so the models have structure to learn.
    auto images = [size](int64_t n) {
        const torch::Tensor coarse = torch::rand({n, 1, 3, 3}) * 2 - 1;
        return torch::upsample_bilinear2d(coarse, {size, size}, false).clamp(-1, 1);
    };
    d.train.images = images(96);
    d.test.images = images(16);
    return d;
}

TrainOptions options(qint64 batch) {
    TrainOptions o;
    o.steps = 12;
    o.batchSize = batch;
    o.seed = 5;
    o.evalImages = 16;
    return o;
}

struct Run {
    TrainResult result;
    std::vector<double> losses;
    QString error;
};

Run train(GenerativeModel& model, const Dataset& data, TrainOptions o) {
    Run run;
    try {
        Trainer trainer(model, data, std::move(o));
        trainer.setProgressCallback(
            [&](const TrainProgress& p) { run.losses.push_back(p.train.at("loss")); });
        run.result = trainer.run();
    } catch (const std::exception& e) {
        run.error = QString::fromLocal8Bit(e.what());
    }
    return run;
}

double largestDifference(GenerativeModel& a, GenerativeModel& b) {
    const auto pa = a.module().parameters();
    const auto pb = b.module().parameters();
    double largest = 0;
    for (size_t i = 0; i < pa.size(); ++i)
        largest = std::max(largest, (pa[i] - pb[i]).abs().max().item<double>());
    return largest;
}

// Trains `replicas` as the ranks of one group, each in its own thread; the runs in rank order.
std::vector<Run> trainTogether(std::vector<std::unique_ptr<GenerativeModel>>& replicas,
                               const Dataset& data, const TrainOptions& o) {
    const int workers = int(replicas.size());
    const int port = freeLoopbackPort();
    std::vector<Run> runs(replicas.size());
    std::vector<std::thread> threads;
    for (int rank = 0; rank < workers; ++rank)
        threads.emplace_back([&, rank] {
            WorkerPlace place;
            place.rank = rank;
            place.worldSize = workers;
            place.masterPort = port;
            TrainOptions mine = o;
            try {
                mine.sync = joinWorkerGroup(place, torch::kCPU, std::chrono::seconds(30));
            } catch (const std::exception& e) {
                runs[size_t(rank)].error = QString::fromLocal8Bit(e.what());
                return;
            }
            runs[size_t(rank)] = train(*replicas[size_t(rank)], data, mine);
        });
    for (auto& t : threads) t.join();
    return runs;
}

QJsonObject lastJson(const QByteArray& out) {
    return QJsonDocument::fromJson(out).object();
}

// The child processes of `parent` whose environment holds `variable` (e.g. "RANK=1").
QList<qint64> childrenWith(qint64 parent, const QByteArray& variable) {
    QList<qint64> found;
    for (const QString& entry : QDir("/proc").entryList(QDir::Dirs)) {
        bool ok = false;
        const qint64 pid = entry.toLongLong(&ok);
        if (!ok) continue;
        QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
        if (!stat.open(QIODevice::ReadOnly)) continue;
        const QByteArray text = stat.readAll();
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        if (fields.size() < 2 || fields[1].toLongLong() != parent) continue;
        QFile environ(QStringLiteral("/proc/%1/environ").arg(pid));
        if (environ.open(QIODevice::ReadOnly) && environ.readAll().split('\0').contains(variable))
            found << pid;
    }
    return found;
}

}  // namespace

class TestDistributed : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString path(const QString& name) const { return m_dir.filePath(name); }

    // A folder of 40 small images: a dataset the CLI loads and evaluates (every tenth image is
    // held out) in moments.
    QString imageFolder() const { return path("images"); }

    QStringList cliTrain(const QString& out, qint64 batch, qint64 steps) const {
        QStringList args =
            QStringLiteral("train --model pixelcnn --seed 3 --set hidden=8 --set layers=2 --json")
                .split(' ');
        args << "--dataset" << imageFolder() << "--steps" << QString::number(steps) << "--batch"
             << QString::number(batch) << "--out" << out;
        return args;
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QVERIFY(QDir().mkpath(imageFolder()));
        cv::RNG rng(5);
        for (int i = 0; i < 40; ++i) {
            cv::Mat image(12, 12, CV_8UC3);
            rng.fill(image, cv::RNG::UNIFORM, 0, 256);
            QVERIFY(cv::imwrite(
                QDir(imageFolder()).filePath(QStringLiteral("%1.png").arg(i)).toStdString(),
                image));
        }
    }

    void workerPlaceComesFromTorchrunVariables() {
        qunsetenv("WORLD_SIZE");
        QVERIFY(!workerPlaceFromEnvironment());
        qputenv("WORLD_SIZE", "3");
        qputenv("RANK", "2");
        qputenv("LOCAL_RANK", "1");
        qputenv("MASTER_ADDR", "10.0.0.5");
        qputenv("MASTER_PORT", "29501");
        const std::optional<WorkerPlace> place = workerPlaceFromEnvironment();
        QVERIFY(place);
        QCOMPARE(place->rank, 2);
        QCOMPARE(place->worldSize, 3);
        QCOMPARE(place->localRank, 1);
        QCOMPARE(place->masterAddress, QString("10.0.0.5"));
        QCOMPARE(place->masterPort, 29501);
        QCOMPARE(workerDevice(torch::kCUDA, *place), torch::Device(torch::kCUDA, 1));
        qputenv("RANK", "3");  // out of range
        QVERIFY_THROWS_EXCEPTION(DataError, workerPlaceFromEnvironment());
        qputenv("RANK", "0");
        qunsetenv("MASTER_PORT");
        QVERIFY_THROWS_EXCEPTION(DataError, workerPlaceFromEnvironment());
        for (const char* name : {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR"})
            qunsetenv(name);
    }

    // Two workers as threads of this process, each with its own replica (one initialised
    // differently: the trainer starts both from rank 0's weights), on Gloo over loopback.
    void twoWorkersTrainAsOneProcessAtTwiceTheBatch() {
        const Dataset data = blobs();
        auto alone = tinyPixelCnn(1);
        const Run one = train(*alone, data, options(8));
        QVERIFY2(one.error.isEmpty(), qPrintable(one.error));

        std::vector<std::unique_ptr<GenerativeModel>> replicas;
        replicas.push_back(tinyPixelCnn(1));
        replicas.push_back(tinyPixelCnn(2));
        QVERIFY(largestDifference(*replicas[0], *replicas[1]) > 0);
        const std::vector<Run> runs = trainTogether(replicas, data, options(4));
        for (const Run& run : runs) QVERIFY2(run.error.isEmpty(), qPrintable(run.error));

        // The replicas are equal, bit for bit, and say so.
        QCOMPARE(largestDifference(*replicas[0], *replicas[1]), 0.0);
        QCOMPARE(runs[0].result.replicaDifference, 0.0);
        QCOMPARE(runs[1].result.replicaDifference, 0.0);
        QCOMPARE(runs[0].losses, runs[1].losses);
        // Rank 0 alone evaluates.
        QVERIFY(runs[0].result.heldOut.count("loss"));
        QVERIFY(runs[1].result.heldOut.empty());

        QCOMPARE(runs[0].losses.size(), one.losses.size());
        for (size_t i = 0; i < one.losses.size(); ++i)
            QVERIFY2(std::abs(runs[0].losses[i] - one.losses[i]) <=
                         kLossTolerance * std::abs(one.losses[i]),
                     qPrintable(QStringLiteral("step %1: %2 against %3")
                                    .arg(i + 1)
                                    .arg(runs[0].losses[i], 0, 'g', 9)
                                    .arg(one.losses[i], 0, 'g', 9)));
        const double difference = largestDifference(*replicas[0], *alone);
        qInfo("largest weight difference to one process at twice the batch: %g", difference);
        QVERIFY(difference <= kWeightTolerance);
    }

    // State outside the gradient stays alike across the replicas too: buffers in a weight
    // average, weights initialised from the first batch, EMA codebooks, per-worker noise.
    void replicasStayAlike_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QStringList>("settings");
        QTest::newRow("dcgan: BatchNorm statistics in the weight average")
            << "dcgan" << QStringList{"hidden=8", "latent=8"};
        QTest::newRow("glow: ActNorm initialised from the first batch")
            << "glow" << QStringList{"hidden=8", "steps=2"};
        QTest::newRow("vqvae: EMA codebook buffers, then the prior")
            << "vqvae" << QStringList{"hidden=8", "codes=16", "ae_steps=2", "prior_hidden=8"};
        QTest::newRow("vae: noise drawn per worker")
            << "vae" << QStringList{"hidden=8", "latent=4"};
    }

    void replicasStayAlike() {
        QFETCH(QString, family);
        QFETCH(QStringList, settings);
        const Dataset data = blobs(28);
        ModelConfig config;
        writeImageShape(config, data.shape);
        for (const QString& pair : settings)
            config.set(pair.section('=', 0, 0).toStdString(), pair.section('=', 1).toStdString());
        std::vector<std::unique_ptr<GenerativeModel>> replicas;
        for (uint64_t seed : {1, 2}) {
            torch::manual_seed(seed);
            replicas.push_back(ModelRegistry::instance().create(family.toStdString(), config));
        }
        TrainOptions o = options(4);
        o.steps = 4;
        o.evalImages = 8;
        const std::vector<Run> runs = trainTogether(replicas, data, o);
        for (const Run& run : runs) QVERIFY2(run.error.isEmpty(), qPrintable(run.error));
        QCOMPARE(runs[0].result.steps, qint64(4));
        QCOMPARE(runs[0].result.replicaDifference, 0.0);
        QCOMPARE(largestDifference(*replicas[0], *replicas[1]), 0.0);
    }

    // The CLI's --nproc 2 end to end: the same checkpoint as one process at twice the batch.
    void cliWorkersMatchOneProcess() {
        QProcess p;
        p.start(QStringLiteral(LE_CLI_PATH), cliTrain(path("one.lec"), 8, 8));
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());

        p.start(QStringLiteral(LE_CLI_PATH), cliTrain(path("two.lec"), 4, 8) << "--nproc"
                                                                             << "2");
        QVERIFY(p.waitForFinished(60000));
        const QByteArray err = p.readAllStandardError();
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, err.constData());
        const QJsonObject json = lastJson(p.readAllStandardOutput());  // rank 0's alone
        QCOMPARE(json["status"].toString(), QString("finished"));
        QCOMPARE(json["workers"].toInt(), 2);
        QCOMPARE(json["replica_difference"].toDouble(), 0.0);

        LoadedCheckpoint one = loadCheckpoint(path("one.lec"), torch::kCPU);
        LoadedCheckpoint two = loadCheckpoint(path("two.lec"), torch::kCPU);
        QCOMPARE(two.header.steps, qint64(8));
        QCOMPARE(two.header.extra["workers"].toInt(), 2);
        QCOMPARE(two.header.extra["batch_size"].toInt(), 4);
        const double difference = largestDifference(*one.model, *two.model);
        qInfo("largest weight difference, --nproc 2 --batch 4 against --batch 8: %g", difference);
        QVERIFY(difference <= kWeightTolerance);
    }

    // SIGKILL one worker after the first checkpoint: the launcher stops the other, names the
    // dead one, exits non-zero, and the checkpoint (written atomically by rank 0) loads.
    void killedWorkerEndsTheRunAndKeepsTheCheckpoint() {
        const QString out = path("killed.lec");
        QProcess launcher;
        launcher.start(QStringLiteral(LE_CLI_PATH), cliTrain(out, 4, 100000) << "--nproc"
                                                                             << "2"
                                                                             << "--checkpoint-every"
                                                                             << "5");
        QVERIFY(launcher.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(out), 30000);
        const QList<qint64> rank0 = childrenWith(launcher.processId(), "RANK=0");
        const QList<qint64> rank1 = childrenWith(launcher.processId(), "RANK=1");
        QCOMPARE(rank0.size(), 1);
        QCOMPARE(rank1.size(), 1);
        QCOMPARE(::kill(pid_t(rank1.front()), SIGKILL), 0);

        QVERIFY(launcher.waitForFinished(30000));
        const QString err = QString::fromLocal8Bit(launcher.readAllStandardError());
        QCOMPARE(launcher.exitStatus(), QProcess::NormalExit);
        QVERIFY2(launcher.exitCode() != 0, qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("worker rank 1 of 2 (pid %1) was killed by signal 9")
                                  .arg(rank1.front())),
                 qPrintable(err));
        QVERIFY2(err.contains("is kept"), qPrintable(err));
        QVERIFY(!QFileInfo::exists(QStringLiteral("/proc/%1").arg(rank0.front())));  // stopped

        const LoadedCheckpoint kept = loadCheckpoint(out, torch::kCPU);
        QVERIFY(kept.header.steps >= 5);
        QCOMPARE(kept.header.steps % 5, qint64(0));
    }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
