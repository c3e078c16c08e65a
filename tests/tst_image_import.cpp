// Image files in: formats, bit depths, alpha, damaged files, face crop; tensors <-> Mats.

#include "core/errors.h"
#include "core/data/faces.h"
#include "core/imaging/image_io.h"
#include "core/data/image_import.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace le;

namespace {

// A 40x30 BGR test card: left half pure red (in RGB terms), right half pure blue.
cv::Mat redBlueBgr(int w = 40, int h = 30) {
    cv::Mat m(h, w, CV_8UC3, cv::Scalar(0, 0, 255));                   // BGR red
    m(cv::Rect(w / 2, 0, w - w / 2, h)).setTo(cv::Scalar(255, 0, 0));  // BGR blue
    return m;
}

void truncateFile(const QString& path, qint64 keep) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QVERIFY(f.resize(keep));
}

}  // namespace

class TestImageImport : public QObject {
    Q_OBJECT

private slots:
    void roundTripTensorMat_data() {
        QTest::addColumn<int>("channels");
        QTest::newRow("grey") << 1;
        QTest::newRow("rgb") << 3;
    }

    void roundTripTensorMat() {
        QFETCH(int, channels);
        torch::manual_seed(3);
        // Values on the 8-bit grid survive the round trip exactly.
        const torch::Tensor t =
            torch::randint(0, 256, {1, channels, 5, 7}).to(torch::kFloat).div(127.5).sub(1.0);
        const cv::Mat m = tensorToMat(t);
        QCOMPARE(m.rows, 5);
        QCOMPARE(m.cols, 7);
        QCOMPARE(m.channels(), channels);
        QCOMPARE(m.depth(), CV_8U);
        QVERIFY(torch::allclose(matToTensor(m), t, 0, 1e-6));
        // Channel c of the tensor is channel c of the Mat (RGB stays RGB).
        const torch::Tensor px = t[0].select(1, 0).select(1, 0);  // C values at (0,0)
        for (int c = 0; c < channels; ++c) {
            const int v = m.ptr<uint8_t>(0)[c];
            QCOMPARE(v, int(std::lround((px[c].item<float>() + 1) * 127.5)));
        }
        // Out-of-range values clamp instead of wrapping.
        const cv::Mat clamped = tensorToMat(torch::full({channels, 2, 2}, 3.0f));
        QCOMPARE(int(clamped.ptr<uint8_t>(0)[0]), 255);
    }

    void tilesAGrid() {
        const torch::Tensor images = torch::ones({5, 3, 4, 6});
        const cv::Mat grid = tileImages(images, 3, 1);
        QCOMPARE(grid.cols, 3 * (6 + 1) + 1);
        QCOMPARE(grid.rows, 2 * (4 + 1) + 1);
        QCOMPARE(grid.at<cv::Vec3b>(1, 1), cv::Vec3b(255, 255, 255));  // first image
        QCOMPARE(grid.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));        // gap
        QCOMPARE(grid.at<cv::Vec3b>(7, 16), cv::Vec3b(0, 0, 0));       // the empty sixth cell
    }

    void writeImageIsRgbAndAtomic() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        cv::Mat rgb(8, 8, CV_8UC3, cv::Scalar(200, 10, 20));  // RGB: mostly red
        const QString path = dir.filePath("out.png");
        writeImage(path, rgb);
        const cv::Mat back = cv::imread(path.toStdString(), cv::IMREAD_COLOR);  // BGR
        QCOMPARE(back.at<cv::Vec3b>(0, 0), cv::Vec3b(20, 10, 200));
        QCOMPARE(readImageFile(path).at<cv::Vec3b>(3, 3), cv::Vec3b(200, 10, 20));
        // Overwriting leaves only the image: no temporary files behind.
        writeImage(path, rgb);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"out.png"});
        try {
            writeImage(dir.filePath("missing/folder/out.png"), rgb);
            QFAIL("expected a DataError");
        } catch (const DataError& e) {
            QVERIFY(QString(e.what()).contains("out.png"));
        }
    }

    // Every format and pixel layout decodes to 8-bit RGB with red on the left.
    void readsFormats_data() {
        QTest::addColumn<QString>("fileName");
        QTest::addColumn<int>("kind");  // 0 colour, 1 grey, 2 RGBA, 3 16-bit colour, 4 16-bit grey
        QTest::addColumn<bool>("lossy");
        QTest::newRow("png") << "card.png" << 0 << false;
        QTest::newRow("jpeg") << "card.jpg" << 0 << true;
        QTest::newRow("jpeg long suffix") << "card.jpeg" << 0 << true;
        QTest::newRow("bmp") << "card.bmp" << 0 << false;
        QTest::newRow("webp") << "card.webp" << 0 << true;
        QTest::newRow("tiff") << "card.tiff" << 0 << false;
        QTest::newRow("tif") << "card.tif" << 0 << false;
        QTest::newRow("grey png") << "grey.png" << 1 << false;
        QTest::newRow("rgba png") << "alpha.png" << 2 << false;
        QTest::newRow("16-bit png") << "deep.png" << 3 << false;
        QTest::newRow("16-bit grey tiff") << "deep-grey.tif" << 4 << false;
    }

    void readsFormats() {
        QFETCH(QString, fileName);
        QFETCH(int, kind);
        QFETCH(bool, lossy);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(fileName);
        cv::Mat bgr = redBlueBgr();
        cv::Mat written;
        switch (kind) {
            case 0:
                written = bgr;
                break;
            case 1:
                cv::cvtColor(bgr, written, cv::COLOR_BGR2GRAY);
                break;
            case 2: {
                cv::cvtColor(bgr, written, cv::COLOR_BGR2BGRA);
                // The right half fully transparent: composited on white.
                written(cv::Rect(20, 0, 20, 30)).setTo(cv::Scalar(255, 0, 0, 0));
                break;
            }
            case 3:
                bgr.convertTo(written, CV_16U, 257.0);
                break;
            case 4: {
                cv::Mat g;
                cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
                g.convertTo(written, CV_16U, 257.0);
                break;
            }
        }
        QVERIFY(cv::imwrite(path.toStdString(), written));

        const cv::Mat rgb = readImageFile(path);
        QCOMPARE(rgb.type(), CV_8UC3);
        QCOMPARE(rgb.size(), cv::Size(40, 30));
        const cv::Vec3b left = rgb.at<cv::Vec3b>(15, 5), right = rgb.at<cv::Vec3b>(15, 35);
        const int tol = lossy ? 40 : 1;
        auto near = [tol](const cv::Vec3b& got, cv::Vec3b want) {
            for (int c = 0; c < 3; ++c)
                if (std::abs(int(got[c]) - int(want[c])) > tol) return false;
            return true;
        };
        const int greyRed = 76, greyBlue = 29;  // BT.601 luma of pure red and pure blue
        switch (kind) {
            case 0:
            case 3:
                QVERIFY2(near(left, {255, 0, 0}), "left half should read as red in RGB order");
                QVERIFY(near(right, {0, 0, 255}));
                break;
            case 1:
            case 4:
                QVERIFY(near(left, {greyRed, greyRed, greyRed}));
                QVERIFY(near(right, {greyBlue, greyBlue, greyBlue}));
                break;
            case 2:
                QVERIFY(near(left, {255, 0, 0}));
                QVERIFY2(near(right, {255, 255, 255}), "transparent pixels should become white");
                break;
        }
    }

    void readErrorsNameTheFile_data() {
        QTest::addColumn<QString>("fileName");
        QTest::addColumn<int>(
            "damage");  // 0 missing, 1 garbage, 2 truncated png, 3 truncated jpeg, 4 empty
        QTest::addColumn<QString>("phrase");
        QTest::newRow("missing") << "nothere.png" << 0 << "does not exist";
        QTest::newRow("garbage") << "garbage.png" << 1 << "cannot decode";
        QTest::newRow("truncated png") << "cut.png" << 2 << "cannot decode";
        QTest::newRow("truncated jpeg") << "cut.jpg" << 3 << "truncated";
        QTest::newRow("empty") << "empty.bmp" << 4 << "empty";
    }

    void readErrorsNameTheFile() {
        QFETCH(QString, fileName);
        QFETCH(int, damage);
        QFETCH(QString, phrase);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(fileName);
        cv::Mat big(200, 200, CV_8UC3);
        cv::randu(big, 0, 255);
        if (damage == 1) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(500, 'x'));
        } else if (damage == 2 || damage == 3) {
            QVERIFY(cv::imwrite(path.toStdString(), big));
            truncateFile(path, QFileInfo(path).size() / 2);
        } else if (damage == 4) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
        }
        try {
            readImageFile(path);
            QFAIL("expected a DataError");
        } catch (const DataError& e) {
            const QString msg = QString::fromStdString(e.what());
            QVERIFY2(msg.contains(fileName), qPrintable(msg));
            QVERIFY2(msg.contains(phrase), qPrintable(msg));
        }
    }

    void importsAFolder() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        // 21 good images in assorted formats, a corrupt and a truncated one, and a text file
        // that is not an image at all (ignored, not reported).
        const QStringList exts = {"png", "jpg", "bmp", "webp", "tiff", "PNG", "jpeg"};
        for (int i = 0; i < 21; ++i) {
            cv::Mat m(48, 64, CV_8UC3, cv::Scalar(i * 10, 100, 200 - i * 5));
            const QString name = QString("img%1.%2").arg(i, 2, 10, QChar('0')).arg(exts[i % 7]);
            QVERIFY(cv::imwrite(dir.filePath(name).toStdString(), m));
        }
        {
            QFile f(dir.filePath("broken.png"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("this is not a png");
        }
        cv::Mat noise(100, 100, CV_8UC3);
        cv::randu(noise, 0, 255);
        QVERIFY(cv::imwrite(dir.filePath("cut.png").toStdString(), noise));
        truncateFile(dir.filePath("cut.png"), 2000);
        {
            QFile f(dir.filePath("notes.txt"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("hello");
        }

        ImportOptions options;
        options.shape = ImageShape{3, 16, 16};
        ImportReport report;
        const Dataset ds = importImages(dir.path(), options, &report);
        QCOMPARE(ds.name, dir.path());
        QCOMPARE(ds.shape, options.shape);
        QCOMPARE(ds.train.size() + ds.test.size(), int64_t(21));
        QCOMPARE(ds.test.size(), int64_t(2));  // the 10th and 20th
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{19, 3, 16, 16}));
        QVERIFY(!ds.train.labels.defined());
        QCOMPARE(report.skipped.size(), 2);
        QVERIFY2(report.skipped[0].startsWith("broken.png: "), qPrintable(report.skipped[0]));
        QVERIFY2(report.skipped[1].startsWith("cut.png: "), qPrintable(report.skipped[1]));

        // Sorted by name: test row 0 is img09 (the tenth readable), written as BGR (90, 100, 155).
        const cv::Mat tenth = tensorToMat(ds.test.images[0]);
        QCOMPARE(tenth.at<cv::Vec3b>(8, 8), cv::Vec3b(155, 100, 90));
        // Deterministic: the same folder gives the same tensors.
        const Dataset again = importImages(dir.path(), options, nullptr);
        QVERIFY(torch::equal(again.train.images, ds.train.images));
    }

    void importsOneFileAsBothSplits() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath("one.png");
        QVERIFY(cv::imwrite(path.toStdString(), redBlueBgr()));
        ImportOptions options;
        options.shape = ImageShape{1, 8, 8};
        const Dataset ds = importImages(path, options, nullptr);
        QCOMPARE(ds.train.size(), int64_t(1));
        QCOMPARE(ds.test.size(), int64_t(1));
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{1, 1, 8, 8}));
    }

    void importFailures_data() {
        QTest::addColumn<int>("setup");  // 0 empty folder, 1 only broken files, 2 missing path
        QTest::addColumn<QString>("phrase");
        QTest::newRow("empty folder") << 0 << "contains no image files";
        QTest::newRow("only unreadable images") << 1 << "none of the 2 image file(s)";
        QTest::newRow("missing path") << 2 << "does not exist";
    }

    void importFailures() {
        QFETCH(int, setup);
        QFETCH(QString, phrase);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QString path = dir.path();
        if (setup == 1) {
            for (const char* name : {"a.png", "b.jpg"}) {
                QFile f(dir.filePath(name));
                QVERIFY(f.open(QIODevice::WriteOnly));
                f.write("junk");
            }
        } else if (setup == 2) {
            path = dir.filePath("no-such-folder");
        }
        ImportReport report;
        try {
            importImages(path, ImportOptions{}, &report);
            QFAIL("expected a DataError");
        } catch (const DataError& e) {
            const QString msg = QString::fromStdString(e.what());
            QVERIFY2(msg.contains(QDir::toNativeSeparators(path)), qPrintable(msg));
            QVERIFY2(msg.contains(phrase), qPrintable(msg));
        }
        if (setup == 1) QCOMPARE(report.skipped.size(), 2);
    }

    void centreCropAndResize() {
        // 90x30: a red square in the middle third, blue on both sides.
        cv::Mat rgb(30, 90, CV_8UC3, cv::Scalar(0, 0, 255));
        rgb(cv::Rect(30, 0, 30, 30)).setTo(cv::Scalar(255, 0, 0));
        ImportOptions options;
        options.shape = ImageShape{3, 10, 10};
        const torch::Tensor cropped = prepareImage(rgb, options);
        QCOMPARE(cropped.sizes().vec(), (std::vector<int64_t>{1, 3, 10, 10}));
        QVERIFY(torch::allclose(cropped[0][0], torch::ones({10, 10})));  // all red
        options.centreCrop = false;  // squashed instead: blue at the edges
        const torch::Tensor squashed = prepareImage(rgb, options);
        QCOMPARE(squashed[0][2][5][0].item<float>(), 1.0f);
        options.shape = ImageShape{1, 10, 10};
        QCOMPARE(prepareImage(rgb, options).size(1), int64_t(1));
    }

    void faceCropFindsAFaceOrFallsBack() {
        if (!QFileInfo::exists(defaultFaceCascadePath())) QSKIP("opencv-data is not installed");
        // A flat image has no face; face crop then falls back to the centre crop.
        cv::Mat flat(120, 200, CV_8UC3, cv::Scalar(128, 128, 128));
        QVERIFY(detectLargestFace(flat, 0.25).empty());
        ImportOptions options;
        options.faceCrop = true;
        options.shape = ImageShape{3, 16, 16};
        cv::Mat marked = flat.clone();
        marked(cv::Rect(40, 0, 120, 120)).setTo(cv::Scalar(255, 0, 0));  // the centre square
        QVERIFY(torch::allclose(prepareImage(marked, options)[0][0], torch::ones({16, 16})));

        // A large rendered face placed off-centre on a wide canvas. The Haar cascade was trained
        // on photographs and may or may not take a cartoon for a face; when it does, the box
        // must be square, inside the image and around the face.
        cv::Mat face;
        cv::resize(renderFace(FaceFactors{}, 64), face, cv::Size(192, 192), 0, 0, cv::INTER_CUBIC);
        cv::Mat scene(240, 480, CV_8UC3, cv::Scalar(90, 90, 90));
        face.copyTo(scene(cv::Rect(270, 24, 192, 192)));
        const cv::Rect r = detectLargestFace(scene, 0.25);
        if (r.empty()) {
            qInfo("the cascade did not detect the cartoon face; fallback covered above");
        } else {
            QCOMPARE(r.width, r.height);
            QVERIFY((r & cv::Rect(0, 0, scene.cols, scene.rows)) == r);
            const cv::Point centre(r.x + r.width / 2, r.y + r.height / 2);
            QVERIFY2(cv::Rect(270, 24, 192, 192).contains(centre), "box not on the face");
        }
    }
};

QTEST_GUILESS_MAIN(TestImageImport)
#include "tst_image_import.moc"
