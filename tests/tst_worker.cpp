#include "checkpoint.h"
#include "engine.h"
#include "test_support.h"
#include "worker.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace le;

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

private:
    QTemporaryDir m_dir;
    QString m_checkpoint;
};

QTEST_GUILESS_MAIN(TestWorker)
#include "tst_worker.moc"
