#include "core/storage/checkpoint.h"
#include "core/errors.h"
#include "test_support.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <sstream>

using namespace le;

namespace {

QByteArray readFile(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

// Builds a well-formed file (valid checksum) from any header and weights, to reach the checks
// that sit behind the checksum.
QByteArray assemble(const QJsonObject& header, const QByteArray& weights) {
    const QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    QByteArray bytes = "LATENT-EXPLORER-CHECKPOINT\n";
    bytes += QByteArray::number(json.size()) + '\n' + json;
    bytes += QByteArray::number(weights.size()) + '\n' + weights;
    bytes += QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex() + '\n';
    return bytes;
}

QByteArray weightsOf(GenerativeModel& model) {
    std::ostringstream out;
    model.saveWeights(out);
    return QByteArray::fromStdString(out.str());
}

QString errorOf(const QString& path, const QString& family = QString()) {
    try {
        loadCheckpoint(path, torch::kCPU, family);
    } catch (const DataError& e) {
        return QString::fromUtf8(e.what());
    }
    return QString();
}

}  // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT

private slots:
    void init() { QVERIFY(m_dir.isValid()); }

    void roundTripKeepsHeaderAndWeights() {
        torch::manual_seed(3);
        auto model = test::smallVae();
        CheckpointHeader header;
        header.dataset = "fashion-mnist";
        header.steps = 1234;
        header.metrics = QJsonObject{{"loss", 12.5}};
        header.extra = QJsonObject{{"seed", "3"}};
        const QString path = m_dir.filePath("model.lec");
        saveCheckpoint(path, *model, header);

        const CheckpointHeader read = readCheckpointHeader(path);
        QCOMPARE(read.family, QString("vae"));
        QCOMPARE(read.dataset, QString("fashion-mnist"));
        QCOMPARE(read.steps, qint64(1234));
        QCOMPARE(read.shape, (ImageShape{1, 28, 28}));
        QCOMPARE(read.metrics.value("loss").toDouble(), 12.5);
        QCOMPARE(read.config.getInt("latent", 0), int64_t{8});
        QVERIFY(!read.created.isEmpty());

        LoadedCheckpoint loaded = loadCheckpoint(path, torch::kCPU, "vae");
        torch::NoGradGuard noGrad;
        model->train(false);
        const torch::Tensor z = torch::randn({4, 8});
        QVERIFY(torch::equal(model->decode(z), loaded.model->decode(z)));
        QCOMPARE(QDir(m_dir.path()).entryList(QDir::Files), QStringList{"model.lec"});
    }

    void badFiles_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        auto model = test::smallVae();
        CheckpointHeader header;
        header.dataset = "fashion-mnist";
        const QString good = m_dir.filePath("good.lec");
        saveCheckpoint(good, *model, header);
        const QByteArray bytes = readFile(good);
        QJsonObject json = readCheckpointHeader(good).toJson();

        QTest::newRow("empty file") << QByteArray() << "not a Latent Explorer checkpoint";
        QTest::newRow("a PNG") << QByteArray("\x89PNG\r\n\x1a\n0000", 12)
                               << "not a Latent Explorer checkpoint";
        QTest::newRow("truncated in the weights") << bytes.left(bytes.size() / 2) << "truncated";
        QTest::newRow("truncated in the header") << bytes.left(40) << "truncated";
        QTest::newRow("truncated checksum") << bytes.left(bytes.size() - 10) << "truncated";
        QByteArray flipped = bytes;
        flipped[flipped.size() / 2] = char(flipped[flipped.size() / 2] ^ 0x55);
        QTest::newRow("one byte flipped") << flipped << "checksum";
        QByteArray garbledHeader = bytes;
        garbledHeader.replace(QByteArray("{\"config\""), QByteArray("[\"config\""));
        QTest::newRow("garbled header") << garbledHeader << "corrupt header";

        QJsonObject future = json;
        future["format"] = 99;
        QTest::newRow("future format") << assemble(future, weightsOf(*model)) << "format 99";
        QJsonObject unknown = json;
        unknown["family"] = "wavenet";
        QTest::newRow("unknown family")
            << assemble(unknown, weightsOf(*model)) << "unknown model family";
        QJsonObject noShape = json;
        noShape.remove("image_shape");
        QTest::newRow("no image shape") << assemble(noShape, weightsOf(*model)) << "image_shape";

        auto wider = test::smallVae(16);
        QTest::newRow("weights of another latent size")
            << assemble(json, weightsOf(*wider)) << "has shape";
        ModelConfig mlp = test::smallVaeConfig();
        mlp.set("arch", std::string("mlp"));
        auto other = ModelRegistry::instance().create("vae", mlp);
        QTest::newRow("weights of another architecture")
            << assemble(json, weightsOf(*other)) << "another architecture";
        QTest::newRow("weights not an archive")
            << assemble(json, "not an archive at all") << "archive";
    }

    void badFiles() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const QString path = m_dir.filePath("bad.lec");
        writeFile(path, bytes);
        const QString error = errorOf(path);
        QVERIFY2(error.contains(expected), qPrintable(error));
        QVERIFY2(error.contains("bad.lec"), qPrintable(error));
    }

    void missingFileNamesIt() {
        const QString error = errorOf(m_dir.filePath("nowhere.lec"));
        QVERIFY2(error.contains("nowhere.lec") && error.contains("does not exist"),
                 qPrintable(error));
    }

    void otherFamilyIsRefused() {
        auto model = test::smallVae();
        const QString path = m_dir.filePath("vae.lec");
        saveCheckpoint(path, *model, {});
        const QString error = errorOf(path, "glow");
        QVERIFY2(error.contains("is a vae checkpoint, not a glow one"), qPrintable(error));
    }

    void failedSaveKeepsTheOldFile() {
        QTemporaryDir dir;
        auto model = test::smallVae();
        const QString path = dir.filePath("keep.lec");
        saveCheckpoint(path, *model, {});
        // A folder where the file should be: the write cannot succeed and must leave no debris.
        QVERIFY_THROWS_EXCEPTION(DataError,
                                 saveCheckpoint(dir.filePath("no/such/dir/x.lec"), *model, {}));
        saveCheckpoint(path, *model, {});  // overwriting goes through a rename, leaving no debris
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"keep.lec"});
        QCOMPARE(loadCheckpoint(path).header.family, QString("vae"));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestCheckpoint)
#include "tst_checkpoint.moc"
