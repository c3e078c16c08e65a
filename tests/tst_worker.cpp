#include "core/storage/checkpoint.h"
#include "core/data/datasets.h"
#include "core/interactive/engine.h"
#include "core/imaging/image_io.h"
#include "core/metrics/likelihood_meter.h"
#include "test_support.h"
#include "core/interactive/worker.h"

#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <opencv2/core.hpp>
#include <optional>
#include <vector>

using namespace le;

namespace {

QString pretrained(const QString& file) {
    return QDir(qEnvironmentVariable("LE_SOURCE_DIR")).filePath("models/pretrained/" + file);
}

const LikelihoodScore* rowOf(const ScoreResult& result, const QString& family) {
    for (const LikelihoodScore& row : result.scores)
        if (row.family == family) return &row;
    return nullptr;
}

// The shipped Fashion-MNIST VAE in a worker thread, scored by the shipped Glow and PixelCNN (and
// by itself, its ELBO). Every decoded and scored signal is logged in arrival order on this thread.
struct ScoringRig {
    WorkerThread thread;
    QObject context;
    std::vector<std::pair<char, quint64>> order;  // 'd' decoded, 's' scored
    std::vector<ScoreResult> scores;
    std::vector<DecodeResult> decodes;
    std::optional<LatentMap> map;
    QString error;

    ScoringRig() {
        InteractiveWorker* w = thread.worker();
        QObject::connect(w, &InteractiveWorker::modelLoaded, &context,
                         [this](const ModelInfo&, const LatentMap& m) { map = m; });
        QObject::connect(w, &InteractiveWorker::failed, &context,
                         [this](const QString& message) { error = message; });
        QObject::connect(w, &InteractiveWorker::decoded, &context, [this](const DecodeResult& r) {
            order.emplace_back('d', r.id);
            decodes.push_back(r);
        });
        QObject::connect(w, &InteractiveWorker::scored, &context, [this](const ScoreResult& r) {
            order.emplace_back('s', r.id);
            scores.push_back(r);
        });
        w->setScoringCheckpoints({pretrained("glow_fashion-mnist.lec"),
                                  pretrained("pixelcnn_fashion-mnist.lec"),
                                  pretrained("dcgan_fashion-mnist.lec")});  // no likelihood
        w->requestLoad(pretrained("vae_fashion-mnist.lec"), "cpu");
    }
    InteractiveWorker* worker() const { return thread.worker(); }
    bool scoredId(quint64 id) const {
        for (const ScoreResult& r : scores)
            if (r.id == id) return true;
        return false;
    }
    ScoreResult lastScoresOf(quint64 id) const {
        for (auto it = scores.rbegin(); it != scores.rend(); ++it)
            if (it->id == id) return *it;
        return {};
    }
};

}  // namespace

class TestWorker : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        registerCoreMetaTypes();
        torch::manual_seed(5);
        auto model = test::smallVae(8);
        CheckpointHeader header;
        header.dataset = "fashion-mnist";
        m_checkpoint = m_dir.filePath("vae.lec");
        saveCheckpoint(m_checkpoint, *model, header);
    }

    void engineBuildsAMapAndDecodes() {
        ModelEngine engine;
        const ModelInfo info = engine.load(m_checkpoint, "cpu");
        QCOMPARE(info.family, QString("vae"));
        QCOMPARE(info.latentDim, int64_t{8});
        const Dataset data = loadDatasetByName("fashion-mnist", false, 0, 500);
        const LatentMap map = engine.buildLatentMap(data, 4, 500);
        QCOMPARE(map.x.size(), 500);
        QCOMPARE(map.componentCount(), 4);
        QCOMPARE(map.classNames.size(), 10);
        QCOMPARE(map.source, QString("encoded test images"));
        QVERIFY(map.explained[0] >= map.explained[1]);
        // Components are orthonormal, so coordinates survive a round trip through the latent.
        const QVector<float> coords{0.5f, -1.0f, 0.25f, 0.0f};
        const QVector<float> back = map.coordsFor(map.latentFor(coords));
        for (int i = 0; i < coords.size(); ++i) QVERIFY(std::abs(back[i] - coords[i]) < 1e-4);
        const cv::Mat image = engine.decode(map.latentFor(coords));
        QCOMPARE(image.rows, 28);
        QCOMPARE(image.type(), CV_8UC1);
    }

    void aModelWithoutEncoderMapsPriorSamples() {
        ModelConfig config;
        writeImageShape(config, ImageShape{1, 28, 28});
        config.set("hidden", int64_t{8});
        auto gan = ModelRegistry::instance().create("dcgan", config);
        QVERIFY(!gan->capabilities().encode);
        CheckpointHeader header;
        header.dataset = "fashion-mnist";
        const QString path = m_dir.filePath("gan.lec");
        saveCheckpoint(path, *gan, header);
        ModelEngine engine;
        engine.load(path, "cpu");
        const LatentMap map =
            engine.buildLatentMap(loadDatasetByName("fashion-mnist", false, 0, 100), 4, 300);
        QCOMPARE(map.x.size(), 300);
        QVERIFY(map.classNames.isEmpty());  // prior draws carry no class
        QVERIFY(std::all_of(map.labels.begin(), map.labels.end(), [](int l) { return l == -1; }));
        QCOMPARE(map.source, QString("samples from the prior"));
    }

    void burstOfDragsCoalescesAndAnswersTheLast() {
        WorkerThread thread;
        InteractiveWorker* worker = thread.worker();
        QSignalSpy loaded(worker, &InteractiveWorker::modelLoaded);
        QSignalSpy decoded(worker, &InteractiveWorker::decoded);
        worker->requestLoad(m_checkpoint, "cpu");
        QVERIFY(loaded.wait(30000));

        QVector<float> z(8, 0.0f);
        for (quint64 id = 1; id <= 100; ++id) {
            z[0] = float(id) / 50.0f;
            worker->requestDecode(id, z);
        }
        QTRY_VERIFY_WITH_TIMEOUT(
            !decoded.isEmpty() && decoded.last().at(0).value<DecodeResult>().id == 100, 10000);
        const int decodes = worker->decodesRun();
        QVERIFY2(decodes >= 1 && decodes <= 10, qPrintable(QString("%1 decodes").arg(decodes)));
        QCOMPARE(decoded.size(), decodes);
        for (const auto& args : decoded) {
            const DecodeResult r = args.at(0).value<DecodeResult>();
            QVERIFY(r.error.isEmpty());
        }

        // The last answer is the decode of the last request, bit for bit.
        ModelEngine engine;
        engine.load(m_checkpoint, "cpu");
        const cv::Mat expected = engine.decode(z);
        const cv::Mat got = decoded.last().at(0).value<DecodeResult>().image;
        QCOMPARE(cv::norm(expected, got, cv::NORM_INF), 0.0);
    }

    void errorsComeBackAsData() {
        WorkerThread thread;
        QSignalSpy failed(thread.worker(), &InteractiveWorker::failed);
        thread.worker()->requestLoad(m_dir.filePath("missing.lec"), "cpu");
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.first().at(0).toString().contains("missing.lec"));

        QSignalSpy loaded(thread.worker(), &InteractiveWorker::modelLoaded);
        QSignalSpy decoded(thread.worker(), &InteractiveWorker::decoded);
        thread.worker()->requestLoad(m_checkpoint, "cpu");
        QVERIFY(loaded.wait(30000));
        thread.worker()->requestDecode(7, QVector<float>(3, 0.0f));  // wrong latent size
        QVERIFY(decoded.wait(10000));
        const DecodeResult r = decoded.first().at(0).value<DecodeResult>();
        QCOMPARE(r.id, quint64(7));
        QVERIFY(r.image.empty());
        QVERIFY2(r.error.contains("needs 8"), qPrintable(r.error));
    }

    void scoresTrailTheirImageAndBandsShowOffData() {
        ScoringRig rig;
        QTRY_VERIFY_WITH_TIMEOUT(rig.map || !rig.error.isEmpty(), 60000);
        QVERIFY2(rig.error.isEmpty(), qPrintable(rig.error));
        const LatentMap& map = *rig.map;
        rig.worker()->requestDecode(1, map.mean);
        QTRY_VERIFY_WITH_TIMEOUT(rig.scoredId(1), 30000);
        // The image first, then its scores.
        QVERIFY(rig.order.size() >= 2);
        QVERIFY(rig.order[0] == std::make_pair('d', quint64(1)));
        QVERIFY(rig.order[1] == std::make_pair('s', quint64(1)));

        const ScoreResult first = rig.lastScoresOf(1);
        // Exact likelihoods first, then the VAE's own bound; the DCGAN has none and is left out.
        QCOMPARE(first.scores.size(), 3);
        QCOMPARE(first.scores[0].family, QString("glow"));
        QCOMPARE(first.scores[1].family, QString("pixelcnn"));
        QCOMPARE(first.scores[2].family, QString("vae"));
        QVERIFY(first.scores[0].exact && first.scores[1].exact && !first.scores[2].exact);
        QVERIFY(first.scores[2].decoder && !first.scores[0].decoder);
        for (const LikelihoodScore& row : first.scores) {
            QVERIFY2(row.error.isEmpty(), qPrintable(row.error));
            QVERIFY2(row.fresh && std::isfinite(row.bpd) && row.bpd > 0 && row.bpd < 16,
                     qPrintable(QString("%1: %2").arg(row.title).arg(row.bpd)));
            QVERIFY(std::isfinite(row.checkpointBpd));  // the header's held-out number
        }

        // The score is of the 8-bit image as shown: the same number from the model directly.
        ModelEngine engine;
        engine.load(pretrained("glow_fashion-mnist.lec"), "cpu");
        const double direct =
            imageBitsPerDim(engine.current(), matToTensor(rig.decodes.front().image));
        QCOMPARE(first.scores[0].bpd, direct);

        // The bands fill in while nothing is dragged, and arrive as a re-emission for the image
        // shown.
        QTRY_VERIFY_WITH_TIMEOUT(!rig.scores.empty() && rig.scores.back().bandsComplete, 240000);
        const ScoreResult banded = rig.scores.back();
        QCOMPARE(banded.id, quint64(1));
        for (const LikelihoodScore& row : banded.scores) {
            QCOMPARE(row.bandImages, LikelihoodMeter::kReferenceImages);
            QVERIFY(row.bandComplete);
            QVERIFY(row.bandLow < row.bandMedian && row.bandMedian < row.bandHigh);
            // 200 held-out images agree with the checkpoint's own held-out figure.
            QVERIFY2(std::abs(row.bandMedian - row.checkpointBpd) < 0.5,
                     qPrintable(QString("%1: median %2, checkpoint %3")
                                    .arg(row.title)
                                    .arg(row.bandMedian)
                                    .arg(row.checkpointBpd)));
        }

        // Far off the data (10 standard deviations along both map directions, every other
        // direction at +3): the decoded images change a lot under the exact models, and at some
        // corner they leave both bands. Not upwards: far out this VAE draws simple, nearly blank
        // pictures, which likelihood models find *more* likely than any real image (Nalisnick et
        // al. 2019), so the band is read on both sides.
        const QVector<float> centre{float(rowOf(first, "glow")->bpd),
                                    float(rowOf(first, "pixelcnn")->bpd)};
        QStringList seen;
        int outsideBoth = 0;
        quint64 id = 10;
        for (const auto& [sx, sy] :
             std::initializer_list<std::pair<int, int>>{{1, 1}, {1, -1}, {-1, 1}, {-1, -1}}) {
            QVector<float> coords(map.componentCount());
            for (int i = 0; i < coords.size(); ++i) coords[i] = 3.0f * map.stddev[i];
            coords[0] = 10.0f * sx * map.stddev[0];
            coords[1] = 10.0f * sy * map.stddev[1];
            rig.worker()->requestDecode(++id, map.latentFor(coords));
            QTRY_VERIFY_WITH_TIMEOUT(rig.scoredId(id), 30000);
            const ScoreResult far = rig.lastScoresOf(id);
            const LikelihoodScore* glow = rowOf(far, "glow");
            const LikelihoodScore* pixel = rowOf(far, "pixelcnn");
            QVERIFY(glow && pixel && glow->fresh && pixel->fresh);
            QVERIFY2(
                std::abs(glow->bpd - centre[0]) > 0.3 || std::abs(pixel->bpd - centre[1]) > 0.3,
                qPrintable(QString("glow %1, pixelcnn %2").arg(glow->bpd).arg(pixel->bpd)));
            if (glow->sideOfBand() != 0 && pixel->sideOfBand() != 0) ++outsideBoth;
            seen << QString("(%1,%2): glow %3 [%4..%5], pixelcnn %6 [%7..%8]")
                        .arg(sx)
                        .arg(sy)
                        .arg(glow->bpd, 0, 'f', 2)
                        .arg(glow->bandLow, 0, 'f', 2)
                        .arg(glow->bandHigh, 0, 'f', 2)
                        .arg(pixel->bpd, 0, 'f', 2)
                        .arg(pixel->bandLow, 0, 'f', 2)
                        .arg(pixel->bandHigh, 0, 'f', 2);
        }
        QVERIFY2(outsideBoth >= 1, qPrintable(seen.join("; ")));
    }

    void noiseIsAboveTheBandAndBlankBelowIt() {
        // The meter by itself on the shipped exact models, with a band of 40 test images.
        ModelEngine engine;
        LikelihoodMeter meter;
        for (const CatalogEntry& entry : LikelihoodMeter::selectScorers(
                 {pretrained("pixelcnn_fashion-mnist.lec"), pretrained("glow_fashion-mnist.lec"),
                  pretrained("classifier_fashion-mnist.lec")},
                 "fashion-mnist", ImageShape{1, 28, 28}))
            meter.addScorer(entry, engine.model(entry.path, "cpu"), entry.path, NAN, false);
        QCOMPARE(meter.scorerCount(), 2);  // the classifier is no generative model
        const Dataset data = loadDatasetByName("fashion-mnist", false, 0, 40);
        meter.setReferenceImages(data.test.images);
        QVERIFY(!meter.bandsComplete());
        while (!meter.bandsComplete()) meter.refineBands(1000, {});

        cv::Mat noise(28, 28, CV_8UC1);
        cv::randu(noise, 0, 256);
        const ScoreResult noisy = meter.score(1, noise);
        QCOMPARE(noisy.scores.size(), 2);
        QCOMPARE(noisy.scores[0].family, QString("glow"));  // exact models by family
        for (const LikelihoodScore& row : noisy.scores) {
            QCOMPARE(row.bandImages, 40);
            QVERIFY2(row.sideOfBand() == 1 && row.bpd > 7,
                     qPrintable(QString("%1: %2").arg(row.title).arg(row.bpd)));
        }
        const ScoreResult blank = meter.score(2, cv::Mat(28, 28, CV_8UC1, cv::Scalar(0)));
        for (const LikelihoodScore& row : blank.scores)
            QVERIFY2(row.sideOfBand() == -1 && row.fresh,
                     qPrintable(QString("%1: %2").arg(row.title).arg(row.bpd)));
        // A snapshot for another id carries the values as not fresh.
        const ScoreResult later = meter.snapshot(3);
        QVERIFY(!later.scores[0].fresh && later.scores[0].bpd == blank.scores[0].bpd);

        // A stop request after the first model leaves the second as it was.
        const ScoreResult cut = meter.score(4, noise, [] { return true; });
        QCOMPARE(int(cut.scores[0].fresh) + int(cut.scores[1].fresh), 1);

        QCOMPARE(quantile({4, 1, 3, 2}, 0.5), 2.5);
        QCOMPARE(quantile({1, 2, 3, 4, 5}, 0.0), 1.0);
        QCOMPARE(quantile({1, 2, 3, 4, 5}, 1.0), 5.0);
        QVERIFY(std::isnan(quantile({}, 0.5)));
    }

    void aBurstIsScoredOnlyForImagesItShows() {
        ScoringRig rig;
        QTRY_VERIFY_WITH_TIMEOUT(rig.map || !rig.error.isEmpty(), 60000);
        QVERIFY2(rig.error.isEmpty(), qPrintable(rig.error));
        for (quint64 id = 1; id <= 60; ++id) {
            QVector<float> coords{float(id % 7) - 3.0f, float(id % 5) - 2.0f};
            rig.worker()->requestDecode(id, rig.map->latentFor(coords));
            QTest::qWait(2);
        }
        QTRY_VERIFY_WITH_TIMEOUT(rig.scoredId(60), 60000);
        // Every score follows the decode of its own id, and no later image was shown between.
        quint64 lastDecoded = 0, lastScored = 0;
        for (const auto& [kind, id] : rig.order) {
            if (kind == 'd') {
                QVERIFY(id > lastDecoded);
                lastDecoded = id;
            } else {
                QCOMPARE(id, lastDecoded);
                QVERIFY(id >= lastScored);
                lastScored = id;
            }
        }
        QVERIFY(rig.worker()->scoresRun() <= rig.worker()->decodesRun());
    }

    void noScoringCheckpointsMeansEmptyScores() {
        WorkerThread thread;
        QSignalSpy loaded(thread.worker(), &InteractiveWorker::modelLoaded);
        QSignalSpy scored(thread.worker(), &InteractiveWorker::scored);
        thread.worker()->requestLoad(m_checkpoint, "cpu");
        QVERIFY(loaded.wait(30000));
        thread.worker()->requestDecode(3, QVector<float>(8, 0.0f));
        QVERIFY(scored.wait(10000));
        const ScoreResult r = scored.first().at(0).value<ScoreResult>();
        QCOMPARE(r.id, quint64(3));
        QVERIFY(r.scores.isEmpty());
    }

private:
    QTemporaryDir m_dir;
    QString m_checkpoint;
};

QTEST_GUILESS_MAIN(TestWorker)
#include "tst_worker.moc"
