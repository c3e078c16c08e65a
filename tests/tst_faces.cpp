// The procedural faces: deterministic for a seed, every factor visible in the image.

#include "core/data/faces.h"
#include "core/imaging/image_io.h"

#include <QtTest>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

using namespace le;

namespace {

double meanAbsDiff(const cv::Mat& a, const cv::Mat& b) {
    cv::Mat d;
    cv::absdiff(a, b, d);
    const cv::Scalar s = cv::mean(d);
    return (s[0] + s[1] + s[2]) / 3.0;
}

// Pixels where some channel differs by more than `level`: small features (brows, mouth) change
// few pixels, but those change a lot.
int changedPixels(const cv::Mat& a, const cv::Mat& b, int level = 24) {
    cv::Mat d, maxc;
    cv::absdiff(a, b, d);
    cv::Mat flat = d.reshape(1, int(d.total()));
    cv::reduce(flat, maxc, 1, cv::REDUCE_MAX);
    return cv::countNonZero(maxc > level);
}

}  // namespace

class TestFaces : public QObject {
    Q_OBJECT

private slots:
    void namesMatchFactors() {
        const QStringList names = FaceFactors::names();
        QCOMPARE(names.size(), FaceFactors::kCount);
        QCOMPARE(names.first(), QStringLiteral("faceWidth"));
        QCOMPARE(names.last(), QStringLiteral("poseShift"));
        QStringList unique = names;
        QCOMPARE(unique.removeDuplicates(), qsizetype(0));

        FaceFactors f;
        f.gazeX = 0.125f;
        f.poseShift = 0.875f;
        const auto values = f.toArray();
        QCOMPARE(values[size_t(names.indexOf("gazeX"))], 0.125f);
        QCOMPARE(values[size_t(names.indexOf("poseShift"))], 0.875f);
        QCOMPARE(FaceFactors::fromArray(values).toArray(), values);
    }

    void randomIsDeterministicAndInRange() {
        const auto a = FaceFactors::random(42).toArray();
        QCOMPARE(FaceFactors::random(42).toArray(), a);
        QVERIFY(FaceFactors::random(43).toArray() != a);
        for (uint64_t seed = 0; seed < 200; ++seed)
            for (float v : FaceFactors::random(seed).toArray()) QVERIFY(v >= 0.0f && v <= 1.0f);
        // Pinned: mt19937_64 and our mapping are specified bit for bit, so these hold on every
        // standard library (std::uniform_real_distribution would not).
        const auto pinned = FaceFactors::random(7).toArray();
        qInfo("random(7): %.9g %.9g", double(pinned[0]), double(pinned[13]));
        QCOMPARE(pinned[0], 0.842154801f);
        QCOMPARE(pinned[13], 0.44995755f);
    }

    void renderIsRgbAndSized_data() {
        QTest::addColumn<int>("size");
        QTest::newRow("32 pixels") << 32;
        QTest::newRow("64 pixels") << 64;
    }

    void renderIsRgbAndSized() {
        QFETCH(int, size);
        const cv::Mat face = renderFace(FaceFactors{}, size);
        QCOMPARE(face.rows, size);
        QCOMPARE(face.cols, size);
        QCOMPARE(face.type(), CV_8UC3);
        // The corner is background; the centre is skin, which is redder than it is blue (RGB
        // order, not BGR).
        const cv::Vec3b centre = face.at<cv::Vec3b>(size / 2, size / 2);
        QVERIFY2(centre[0] > centre[2] + 20, "expected skin with R well above B at the centre");
        QVERIFY(meanAbsDiff(face, renderFace(FaceFactors{}, size)) == 0.0);
    }

    // Varying one factor from 0 to 1 with all others fixed must change the picture visibly.
    void eachFactorChangesTheImage_data() {
        QTest::addColumn<int>("factor");
        const QStringList names = FaceFactors::names();
        for (int k = 0; k < names.size(); ++k) QTest::newRow(qPrintable(names[k])) << k;
    }

    void eachFactorChangesTheImage() {
        QFETCH(int, factor);
        auto base = FaceFactors{}.toArray();
        base[10] = 0.8f;  // glasses on, so that gaze and eye factors are seen through them too
        for (int size : {32, 64}) {
            auto lo = base, hi = base;
            lo[size_t(factor)] = 0.0f;
            hi[size_t(factor)] = 1.0f;
            const cv::Mat a = renderFace(FaceFactors::fromArray(lo), size);
            const cv::Mat b = renderFace(FaceFactors::fromArray(hi), size);
            const int changed = changedPixels(a, b);
            QVERIFY2(changed >= size / 8, qPrintable(QString("%1 at %2 px: %3 pixels changed")
                                                         .arg(FaceFactors::names()[factor])
                                                         .arg(size)
                                                         .arg(changed)));
            // A small step changes it too: the factors vary continuously, not in a few jumps.
            if (factor != 10) {
                auto mid = base;
                mid[size_t(factor)] = 0.55f;
                auto mid2 = base;
                mid2[size_t(factor)] = 0.65f;
                QVERIFY(meanAbsDiff(renderFace(FaceFactors::fromArray(mid), size),
                                    renderFace(FaceFactors::fromArray(mid2), size)) > 0.0);
            }
        }
    }

    void glassesAreAThreshold() {
        FaceFactors off, barely, on;
        off.glasses = 0.0f;
        barely.glasses = 0.5f;
        on.glasses = 0.9f;
        QCOMPARE(meanAbsDiff(renderFace(off), renderFace(barely)), 0.0);
        QVERIFY(meanAbsDiff(renderFace(off), renderFace(on)) > 0.5);
    }

    void datasetIsDeterministic() {
        FaceDatasetOptions options;
        options.trainCount = 64;
        options.testCount = 16;
        options.seed = 5;
        const Dataset a = makeFaceDataset(options);
        const Dataset b = makeFaceDataset(options);
        QVERIFY(torch::equal(a.train.images, b.train.images));
        QVERIFY(torch::equal(a.test.images, b.test.images));
        QVERIFY(torch::equal(a.train.factors, b.train.factors));

        options.seed = 6;
        const Dataset c = makeFaceDataset(options);
        QVERIFY(!torch::equal(a.train.images, c.train.images));
        QVERIFY(!torch::equal(a.train.factors, c.train.factors));
    }

    void datasetShapeAndLabels_data() {
        QTest::addColumn<int>("size");
        QTest::addColumn<QString>("name");
        QTest::newRow("default 32") << 32 << "faces";
        QTest::newRow("option 64") << 64 << "faces64";
    }

    void datasetShapeAndLabels() {
        QFETCH(int, size);
        QFETCH(QString, name);
        FaceDatasetOptions options;
        options.size = size;
        options.trainCount = 40;
        options.testCount = 10;
        const Dataset ds = makeFaceDataset(options);
        QCOMPARE(ds.name, name);
        QCOMPARE(ds.shape, (ImageShape{3, size, size}));
        QCOMPARE(ds.factorNames, FaceFactors::names());
        QVERIFY(ds.classNames.isEmpty());
        QVERIFY(!ds.train.labels.defined());
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{40, 3, size, size}));
        QCOMPARE(ds.test.images.sizes().vec(), (std::vector<int64_t>{10, 3, size, size}));
        QCOMPARE(ds.train.factors.sizes().vec(), (std::vector<int64_t>{40, FaceFactors::kCount}));
        QVERIFY(ds.train.images.min().item<float>() >= -1.0f);
        QVERIFY(ds.train.images.max().item<float>() <= 1.0f);

        // Each stored factor row re-renders to exactly the stored image.
        for (int64_t i : {int64_t(0), int64_t(17), int64_t(39)}) {
            std::array<float, FaceFactors::kCount> v{};
            for (int k = 0; k < FaceFactors::kCount; ++k)
                v[size_t(k)] = ds.train.factors[i][k].item<float>();
            const cv::Mat again = renderFace(FaceFactors::fromArray(v), size);
            QCOMPARE(meanAbsDiff(again, tensorToMat(ds.train.images[i])), 0.0);
        }

        // Train and test come from disjoint seeds: no test face repeats a train face.
        const torch::Tensor d = torch::cdist(ds.test.factors, ds.train.factors);
        QVERIFY(d.min().item<float>() > 1e-4f);
    }
};

QTEST_GUILESS_MAIN(TestFaces)
#include "tst_faces.moc"
