// Fashion-MNIST from Debian's idx files, and the errors a damaged copy must produce.

#include "core/errors.h"
#include "core/data/fashion_mnist.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <zlib.h>

using namespace le;

namespace {

QByteArray bigEndian(uint32_t v) {
    QByteArray b(4, '\0');
    for (int i = 0; i < 4; ++i) b[i] = char((v >> (24 - 8 * i)) & 0xff);
    return b;
}

QByteArray idxImages(uint32_t n, uint32_t rows = 28, uint32_t cols = 28, uint32_t magic = 2051) {
    QByteArray b = bigEndian(magic) + bigEndian(n) + bigEndian(rows) + bigEndian(cols);
    for (uint32_t i = 0; i < n * rows * cols; ++i) b.append(char(i % 256));
    return b;
}

QByteArray idxLabels(uint32_t n, uint32_t magic = 2049) {
    QByteArray b = bigEndian(magic) + bigEndian(n);
    for (uint32_t i = 0; i < n; ++i) b.append(char(i % 10));
    return b;
}

QByteArray gzip(const QByteArray& raw) {
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    QByteArray out(int(deflateBound(&zs, uLong(raw.size()))), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.constData()));
    zs.avail_in = uInt(raw.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(int(zs.total_out));
    deflateEnd(&zs);
    return out;
}

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), qint64(bytes.size()));
}

bool haveFashionMnist() {
    return QFileInfo::exists(defaultFashionMnistDir() + "/train-images-idx3-ubyte.gz");
}

}  // namespace

class TestDatasets : public QObject {
    Q_OBJECT

private slots:
    void realFashionMnist() {
        if (!haveFashionMnist()) QSKIP("dataset-fashion-mnist is not installed");
        const Dataset ds = loadFashionMnist();

        QCOMPARE(ds.name, QStringLiteral("fashion-mnist"));
        QCOMPARE(ds.shape, (ImageShape{1, 28, 28}));
        QCOMPARE(ds.train.size(), int64_t(60000));
        QCOMPARE(ds.test.size(), int64_t(10000));
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{60000, 1, 28, 28}));
        QCOMPARE(ds.test.labels.sizes().vec(), (std::vector<int64_t>{10000}));
        QCOMPARE(ds.train.images.scalar_type(), torch::kFloat);
        QCOMPARE(ds.train.labels.scalar_type(), torch::kLong);
        QVERIFY(ds.train.images.is_contiguous());
        QVERIFY(!ds.train.factors.defined());

        // The full range is used: black background, white highlights.
        QCOMPARE(ds.train.images.min().item<float>(), -1.0f);
        QCOMPARE(ds.train.images.max().item<float>(), 1.0f);
        QCOMPARE(ds.test.labels.min().item<int64_t>(), int64_t(0));
        QCOMPARE(ds.test.labels.max().item<int64_t>(), int64_t(9));
        // Fashion-MNIST is balanced: 6000 of each class in train.
        const auto counts = torch::bincount(ds.train.labels);
        QVERIFY(torch::all(counts == 6000).item<bool>());

        QCOMPARE(ds.classNames.size(), 10);
        QCOMPARE(ds.classNames.first(), QStringLiteral("T-shirt/top"));
        QCOMPARE(ds.classNames.last(), QStringLiteral("Ankle boot"));
        QCOMPARE(ds.train.labels[0].item<int64_t>(), int64_t(9));  // the first is an ankle boot
    }

    void limits() {
        if (!haveFashionMnist()) QSKIP("dataset-fashion-mnist is not installed");
        const Dataset full = loadFashionMnist(defaultFashionMnistDir(), 0, 0);
        const Dataset ds = loadFashionMnist(defaultFashionMnistDir(), 100, 30);
        QCOMPARE(ds.train.size(), int64_t(100));
        QCOMPARE(ds.test.size(), int64_t(30));
        QVERIFY(torch::equal(ds.train.images, full.train.images.slice(0, 0, 100)));
        QVERIFY(torch::equal(ds.test.labels, full.test.labels.slice(0, 0, 30)));
    }

    void imageSetSliceAndIndex() {
        ImageSet set;
        set.images = torch::arange(5 * 2 * 2, torch::kFloat).reshape({5, 1, 2, 2});
        set.labels = torch::arange(5, torch::kLong);
        const ImageSet s = set.slice(1, 3);
        QCOMPARE(s.size(), int64_t(2));
        QCOMPARE(s.labels[0].item<int64_t>(), int64_t(1));
        QVERIFY(!s.factors.defined());
        QCOMPARE(set.slice(3, 99).size(), int64_t(2));  // clamped, not thrown
        const ImageSet picked = set.index(torch::tensor({4, 0}, torch::kLong));
        QCOMPARE(picked.labels[0].item<int64_t>(), int64_t(4));
        QVERIFY(torch::equal(picked.images[1], set.images[0]));
    }

    void readsSmallValidFiles() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        writeFile(dir.filePath("train-images-idx3-ubyte.gz"), gzip(idxImages(3)));
        writeFile(dir.filePath("train-labels-idx1-ubyte.gz"), gzip(idxLabels(3)));
        const torch::Tensor images = readIdxImages(dir.filePath("train-images-idx3-ubyte.gz"));
        QCOMPARE(images.sizes().vec(), (std::vector<int64_t>{3, 1, 28, 28}));
        QCOMPARE(images.scalar_type(), torch::kUInt8);
        QCOMPARE(images[0][0][0][5].item<int>(), 5);
        QCOMPARE(images[1][0][0][0].item<int>(), (28 * 28) % 256);
        const torch::Tensor labels = readIdxLabels(dir.filePath("train-labels-idx1-ubyte.gz"));
        QCOMPARE(labels.sizes().vec(), (std::vector<int64_t>{3}));
        QCOMPARE(labels[2].item<int64_t>(), int64_t(2));
    }

    // Each row writes a damaged train split (test split valid) and expects a DataError whose
    // message names the damaged file and contains the expected phrase.
    void corruptFiles_data() {
        QTest::addColumn<QByteArray>("imagesFile");
        QTest::addColumn<QByteArray>("labelsFile");
        QTest::addColumn<QString>("badFile");
        QTest::addColumn<QString>("phrase");

        const QString img = "train-images-idx3-ubyte.gz", lab = "train-labels-idx1-ubyte.gz";
        const QByteArray goodImages = gzip(idxImages(4)), goodLabels = gzip(idxLabels(4));

        QByteArray cut = idxImages(4);
        cut.chop(1000);
        QTest::newRow("payload shorter than the header says")
            << gzip(cut) << goodLabels << img
            << QString("truncated: expected %1 bytes of pixel data, got %2")
                   .arg(4 * 28 * 28)
                   .arg(4 * 28 * 28 - 1000);
        QByteArray gzCut = gzip(idxImages(4));
        gzCut.chop(gzCut.size() / 2);
        QTest::newRow("gzip stream cut in half") << gzCut << goodLabels << img << "truncated";
        QTest::newRow("wrong magic in images")
            << gzip(idxImages(4, 28, 28, 2049)) << goodLabels << img << "wrong magic number 2049";
        QTest::newRow("wrong magic in labels")
            << goodImages << gzip(idxLabels(4, 2051)) << lab << "wrong magic number 2051";
        QTest::newRow("not gzip") << idxImages(4) << goodLabels << img << "not a gzip file";
        QTest::newRow("garbage after gzip magic")
            << QByteArray::fromHex("1f8b0800") + QByteArray("garbage garbage garbage garbage")
            << goodLabels << img << "corrupt gzip data";
        QTest::newRow("empty file") << QByteArray() << goodLabels << img << "not a gzip file";
        QTest::newRow("missing images file")
            << QByteArray("<none>") << goodLabels << img << "does not exist";
        QTest::newRow("missing labels file")
            << goodImages << QByteArray("<none>") << lab << "does not exist";
        QTest::newRow("label count differs from image count")
            << goodImages << gzip(idxLabels(5)) << lab << "5 labels for 4 images";
        QTest::newRow("images not 28x28")
            << gzip(idxImages(4, 32, 32)) << goodLabels << img << "32x32";
        QTest::newRow("trailing bytes")
            << gzip(idxImages(4) + "xx") << goodLabels << img << "trailing data";
    }

    void corruptFiles() {
        QFETCH(QByteArray, imagesFile);
        QFETCH(QByteArray, labelsFile);
        QFETCH(QString, badFile);
        QFETCH(QString, phrase);

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        if (imagesFile != "<none>")
            writeFile(dir.filePath("train-images-idx3-ubyte.gz"), imagesFile);
        if (labelsFile != "<none>")
            writeFile(dir.filePath("train-labels-idx1-ubyte.gz"), labelsFile);
        writeFile(dir.filePath("t10k-images-idx3-ubyte.gz"), gzip(idxImages(2)));
        writeFile(dir.filePath("t10k-labels-idx1-ubyte.gz"), gzip(idxLabels(2)));

        try {
            loadFashionMnist(dir.path());
            QFAIL("expected a DataError");
        } catch (const DataError& e) {
            const QString msg = QString::fromStdString(e.what());
            QVERIFY2(msg.contains(badFile), qPrintable("no file name in: " + msg));
            QVERIFY2(msg.contains(phrase), qPrintable("no '" + phrase + "' in: " + msg));
        }
    }

    void validSmallDirectory() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        writeFile(dir.filePath("train-images-idx3-ubyte.gz"), gzip(idxImages(4)));
        writeFile(dir.filePath("train-labels-idx1-ubyte.gz"), gzip(idxLabels(4)));
        writeFile(dir.filePath("t10k-images-idx3-ubyte.gz"), gzip(idxImages(2)));
        writeFile(dir.filePath("t10k-labels-idx1-ubyte.gz"), gzip(idxLabels(2)));
        const Dataset ds = loadFashionMnist(dir.path());
        QCOMPARE(ds.train.size(), int64_t(4));
        QCOMPARE(ds.test.size(), int64_t(2));
        // Pixel 0 -> -1, pixel 255 -> +1.
        QCOMPARE(ds.train.images[0][0][0][0].item<float>(), -1.0f);
        QCOMPARE(ds.train.images[0][0][9][3].item<float>(), 1.0f);  // index 255
    }
};

QTEST_GUILESS_MAIN(TestDatasets)
#include "tst_datasets.moc"
