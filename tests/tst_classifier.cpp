#include "core/storage/checkpoint.h"
#include "core/data/datasets.h"
#include "core/metrics/classification.h"
#include "core/interactive/engine.h"
#include "core/errors.h"
#include "core/data/faces.h"
#include "core/data/fashion_mnist.h"
#include "core/metrics/metrics.h"
#include "test_support.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace le;

namespace {

torch::Tensor matrix(int64_t rows, int64_t cols, const std::function<double(int, int)>& f) {
    torch::Tensor m = torch::empty({rows, cols}, torch::kDouble);
    auto a = m.accessor<double, 2>();
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) a[i][j] = f(i, j);
    return m;
}

// Every sign pattern of ±σ around μ: the sample mean is exactly μ and the covariance exactly
// diag(σ²)·N/(N−1), so the Fréchet distance has a closed form.
torch::Tensor hypercube(const std::vector<double>& mu, const std::vector<double>& sigma) {
    const int d = int(mu.size());
    return matrix(1 << d, d, [&](int i, int j) {
        return mu[size_t(j)] + ((i >> j) & 1 ? sigma[size_t(j)] : -sigma[size_t(j)]);
    });
}

QString shippedPath(const QString& dataset) {
    return QDir(qEnvironmentVariable("LE_SOURCE_DIR"))
        .filePath(QStringLiteral("models/pretrained/classifier_%1.lec").arg(dataset));
}

ClassifierOptions smallOptions(const ImageShape& shape, int64_t classes = 10) {
    ClassifierOptions o;
    o.shape = shape;
    o.classes = classes;
    return o;
}

}  // namespace

class TestClassifier : public QObject {
    Q_OBJECT

private slots:
    void frechetDistanceMatchesTheClosedFormForDiagonalGaussians() {
        const std::vector<double> muA{0, 1, -2, 0.5}, sigmaA{1, 2, 0.5, 3};
        const std::vector<double> muB{1, 1, 0, -0.5}, sigmaB{2, 1, 0.5, 0.25};
        const double n = 16, unbiased = n / (n - 1);
        double expected = 0;
        for (size_t j = 0; j < muA.size(); ++j)
            expected +=
                std::pow(muA[j] - muB[j], 2) + unbiased * std::pow(sigmaA[j] - sigmaB[j], 2);
        const double fd = frechetDistance(hypercube(muA, sigmaA), hypercube(muB, sigmaB));
        QVERIFY2(std::abs(fd - expected) < 1e-9 * expected,
                 qPrintable(QString("%1 vs %2").arg(fd, 0, 'g', 17).arg(expected, 0, 'g', 17)));
    }

    void frechetDistanceIgnoresACommonRotation() {
        // The same closed-form pair, both rotated: covariances no longer diagonal.
        const torch::Tensor a = hypercube({0, 1, -2}, {1, 2, 0.5});
        const torch::Tensor b = hypercube({1, 1, 0}, {2, 1, 0.5});
        const torch::Tensor q = std::get<0>(torch::linalg::qr(
            matrix(3, 3, [](int i, int j) { return std::sin(1.0 + i * 3 + j); }), "reduced"));
        const double plain = frechetDistance(a, b);
        const double rotated = frechetDistance(a.matmul(q), b.matmul(q));
        QVERIFY2(std::abs(plain - rotated) < 1e-9 * plain,
                 qPrintable(QString("%1 vs %2").arg(plain).arg(rotated)));
    }

    void frechetDistanceMatchesAPythonReference() {
        // numpy 1.24, by a different route from ours (eigenvalues of the general product):
        //   s1, s2 = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
        //   tr = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real.sum()
        //   ((A.mean(0) - B.mean(0))**2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr
        // with A and B filled by the same formulas as below.
        const torch::Tensor a = matrix(
            200, 5, [](int i, int j) { return std::sin(0.37 * (i + 1) * (j + 1)) + 0.1 * j; });
        const torch::Tensor b = matrix(150, 5, [](int i, int j) {
            return std::cos(0.23 * (i + 1) * (j + 2) + 0.71 * j) * (1 + 0.2 * j) + 0.3 +
                   0.05 * ((7 * i + 3 * j) % 11);
        });
        const double reference = 1.332744000404137;
        QVERIFY(std::abs(frechetDistance(a, b) - reference) < 1e-9);
        QVERIFY(std::abs(frechetDistance(b, a) - reference) < 1e-9);
    }

    void frechetDistanceOfASetWithItselfIsZero() {
        const torch::Tensor a = matrix(300, 16, [](int i, int j) {
            return std::sin(0.1 * i * (j + 1)) + std::cos(0.07 * i + j);
        });
        QVERIFY(frechetDistance(a, a) < 1e-8);
        QVERIFY(frechetDistance(a.to(torch::kFloat), a + 0.5) > 16 * 0.25 - 1e-5);
    }

    void frechetDistanceRefusesBadShapes() {
        QVERIFY_THROWS_EXCEPTION(DataError,
                                 frechetDistance(torch::zeros({10, 3}), torch::zeros({10, 4})));
        QVERIFY_THROWS_EXCEPTION(DataError,
                                 frechetDistance(torch::zeros({1, 3}), torch::zeros({10, 3})));
        QVERIFY_THROWS_EXCEPTION(DataError,
                                 frechetDistance(torch::zeros({10}), torch::zeros({10})));
    }

    void faceClassesFollowTheRenderedFactors() {
        std::array<float, FaceFactors::kCount> v{};
        v.fill(0.5f);
        auto classOf = [&](float hairShape, float hairColour, float glasses) {
            v[4] = hairShape;
            v[3] = hairColour;
            v[10] = glasses;
            const auto f = FaceFactors::fromArray(v).toArray();
            return faceClasses(
                       torch::tensor(std::vector<float>(f.begin(), f.end())).reshape({1, -1}))
                .item<int64_t>();
        };
        QCOMPARE(classOf(0.1f, 0.2f, 0.1f), int64_t(0));   // short, dark, none
        QCOMPARE(classOf(0.1f, 0.2f, 0.9f), int64_t(1));   // + glasses
        QCOMPARE(classOf(0.5f, 0.7f, 0.3f), int64_t(6));   // fringe, light
        QCOMPARE(classOf(1.0f, 1.0f, 1.0f), int64_t(11));  // long, light, glasses
        QCOMPARE(faceClassNames().size(), 12);
        QCOMPARE(faceClassNames()[11], QString("light long hair + glasses"));

        FaceDatasetOptions options;
        options.trainCount = 600;
        options.testCount = 10;
        const ClassifierTarget target = classifierTarget(makeFaceDataset(options));
        const torch::Tensor counts = torch::bincount(target.train, {}, 12);
        QVERIFY2(counts.min().item<int64_t>() > 10, "every face class occurs");
    }

    void classifierLearnsFashionMnist() {
        Dataset data;
        try {
            data = loadFashionMnist(defaultFashionMnistDir(), 12000, 2000);
        } catch (const DataError& e) {
            QSKIP(qPrintable("Fashion-MNIST is not installed: " + QString(e.what())));
        }
        torch::manual_seed(7);
        Classifier classifier(smallOptions(data.shape));
        const ClassifierTarget target = classifierTarget(data);
        const Metrics before = evaluateClassifier(classifier, data.test.images, target.test);
        std::vector<double> losses;
        ClassifierTrainOptions options;
        options.steps = 250;
        const ClassifierTrainResult result = trainClassifier(
            classifier, data, target, options,
            [&](qint64, qint64, const Metrics& m) { losses.push_back(m.at("loss")); });
        QCOMPARE(qint64(losses.size()), options.steps);
        auto meanOf = [&](size_t from, size_t to) {
            double sum = 0;
            for (size_t i = from; i < to; ++i) sum += losses[i];
            return sum / double(to - from);
        };
        const double early = meanOf(0, 25), late = meanOf(losses.size() - 25, losses.size());
        QVERIFY2(late < 0.5 * early, qPrintable(QString("loss %1 -> %2").arg(early).arg(late)));
        const double accuracy = result.heldOut.at("accuracy");
        QVERIFY2(accuracy > 0.75 && accuracy > before.at("accuracy") + 0.5,
                 qPrintable(QString("held-out accuracy %1 (untrained %2)")
                                .arg(accuracy)
                                .arg(before.at("accuracy"))));
        QCOMPARE(classifierFeatures(classifier, data.test.images.slice(0, 0, 7)).sizes(),
                 torch::IntArrayRef({7, 128}));
    }

    void checkpointRoundTripsAndRefusesOtherFamilies() {
        QTemporaryDir dir;
        torch::manual_seed(3);
        Classifier classifier(smallOptions(ImageShape{3, 32, 32}, 12));
        const torch::Tensor x = torch::rand({4, 3, 32, 32}) * 2 - 1;
        CheckpointHeader header;
        header.dataset = "faces";
        header.metrics = QJsonObject{{"accuracy", 0.5}};
        const QString path = dir.filePath("clf.lec");
        saveClassifierCheckpoint(path, classifier, header);
        LoadedClassifier loaded = loadClassifierCheckpoint(path);
        QCOMPARE(loaded.header.family, QString("classifier"));
        QCOMPARE(loaded.classifier->classes(), int64_t(12));
        QVERIFY(torch::allclose(loaded.classifier->logits(x), classifier.logits(x)));

        auto vae = test::smallVae();
        saveCheckpoint(dir.filePath("vae.lec"), *vae, CheckpointHeader{});
        try {
            loadClassifierCheckpoint(dir.filePath("vae.lec"));
            QFAIL("a VAE loaded as a classifier");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("vae.lec: is a vae checkpoint, not a classifier"),
                     e.what());
        }
        try {
            loadCheckpoint(path);
            QFAIL("a classifier loaded as a generative model");
        } catch (const DataError& e) {
            QVERIFY2(QString(e.what()).contains("clf.lec: is a classifier checkpoint"), e.what());
        }
    }

    void shippedClassifiersMeetTheirRecipes_data() {
        QTest::addColumn<QString>("dataset");
        QTest::addColumn<double>("bar");  // the recipe's promise, beside the recorded accuracy
        QTest::newRow("fashion-mnist") << "fashion-mnist" << 0.88;
        QTest::newRow("faces") << "faces" << 0.0;
    }

    void shippedClassifiersMeetTheirRecipes() {
        QFETCH(QString, dataset);
        QFETCH(double, bar);
        const QString path = shippedPath(dataset);
        QVERIFY2(QFileInfo::exists(path), qPrintable(path + " is not shipped"));
        QCOMPARE(QFileInfo(path).canonicalFilePath(),
                 QFileInfo(shippedClassifierPath(dataset)).canonicalFilePath());
        LoadedClassifier loaded = loadClassifierCheckpoint(path);
        Dataset data;
        try {
            data = loadDatasetByName(dataset, false);
        } catch (const DataError& e) {
            QSKIP(qPrintable("dataset missing: " + QString(e.what())));
        }
        const ClassifierTarget target = classifierTarget(data);
        const double recorded = loaded.header.metrics.value("accuracy").toDouble();
        const double now =
            evaluateClassifier(*loaded.classifier, data.test.images, target.test).at("accuracy");
        // Evaluation is deterministic: only float summation order may differ.
        QVERIFY2(now >= recorded - 1e-6 && now >= bar,
                 qPrintable(QString("accuracy %1 now, %2 recorded").arg(now).arg(recorded)));
    }
};

QTEST_GUILESS_MAIN(TestClassifier)
#include "tst_classifier.moc"
