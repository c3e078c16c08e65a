#include "checkpoint.h"
#include "engine.h"
#include "trainer.h"

#include <QDir>
#include <QJsonObject>
#include <QtTest>

using namespace le;

// Every shipped generative checkpoint still loads and still meets the held-out metrics it was saved
// with. The shipped classifiers are checked by tst_classifier.
class TestPretrained : public QObject {
    Q_OBJECT

    static QString pretrainedDir() {
        return QDir(qEnvironmentVariable("LE_SOURCE_DIR")).filePath("models/pretrained");
    }

private slots:
    void shippedCheckpointsMeetTheirRecords_data() {
        QTest::addColumn<QString>("path");
        const QStringList files = QDir(pretrainedDir()).entryList({"*.lec"}, QDir::Files);
        if (files.isEmpty()) QSKIP("no shipped checkpoints");
        for (const QString& file : files) {
            const QString path = QDir(pretrainedDir()).filePath(file);
            if (readCheckpointHeader(path).family != QLatin1String(Classifier::kFamily))
                QTest::newRow(qPrintable(file)) << path;
        }
    }

    void shippedCheckpointsMeetTheirRecords() {
        QFETCH(QString, path);
        LoadedCheckpoint loaded = loadCheckpoint(path);
        const QJsonObject recorded = loaded.header.metrics;
        QVERIFY2(!recorded.isEmpty(), "a shipped checkpoint must record its held-out metrics");
        const Dataset data =
            loadDatasetByName(loaded.header.dataset, false, 0, 2000, loaded.header.shape);
        torch::manual_seed(1);
        const Metrics now = evaluateModel(*loaded.model, data.test, 2000);
        // Evaluation is deterministic (fixed seeds), so only float summation order can differ.
        for (const QString& key : {"loss", "bpd", "recon_mse"}) {
            if (!recorded.contains(key)) continue;
            const double was = recorded.value(key).toDouble();
            const double is = now.at(key.toStdString());
            QVERIFY2(is <= was * 1.01 + 1e-6,
                     qPrintable(QString("%1: %2 now, %3 recorded").arg(key).arg(is).arg(was)));
        }
    }
};

QTEST_GUILESS_MAIN(TestPretrained)
#include "tst_pretrained.moc"
