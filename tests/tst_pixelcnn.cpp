// PixelCNN: causal masks without a blind spot (checked by perturbing every position), the cached
// sampler giving the naive sampler's exact sample for a seed, anchors kept, stepping reports,
// learning on Fashion-MNIST within a small CPU budget, and weights that survive a save/load.

#include "core/data/fashion_mnist.h"
#include "core/errors.h"
#include "models/pixelcnn.h"

#include <QElapsedTimer>
#include "test_support.h"

#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace {

std::unique_ptr<le::GenerativeModel> makePixelCnn(const le::ImageShape& shape, int64_t layers,
                                                  int64_t hidden, int64_t kernel = 3) {
    le::ModelConfig c;
    le::writeImageShape(c, shape);
    c.set("layers", layers);
    c.set("hidden", hidden);
    c.set("kernel", kernel);
    return le::ModelRegistry::instance().create("pixelcnn", c);
}

le::PixelCnn& asPixelCnn(le::GenerativeModel& model) {
    return dynamic_cast<le::PixelCnn&>(model);
}

// Random weights with some spread, so that every connection shows in the outputs.
void scrambleWeights(le::GenerativeModel& model, uint64_t seed) {
    torch::manual_seed(seed);
    torch::NoGradGuard noGrad;
    for (auto& p : model.module().parameters()) p.normal_(0.0, 0.3);
}

torch::Tensor randomValues(const le::ImageShape& s, uint64_t seed) {
    torch::manual_seed(seed);
    return torch::randint(0, 256, {1, s.channels, s.height, s.width}, torch::kLong);
}

}  // namespace

class TestPixelCnn : public QObject {
    Q_OBJECT

    le::Dataset m_fashion;

private slots:
    void initTestCase() {
        torch::set_num_threads(1);  // comparable numbers on the shared two-core box
        try {
            m_fashion = le::loadFashionMnist(le::defaultFashionMnistDir(), 6000, 1000);
        } catch (const le::DataError& e) {
            qWarning("Fashion-MNIST is not installed (%s): its tests are skipped", e.what());
        }
    }

    void configIsValidated() {
        QVERIFY_EXCEPTION_THROWN(makePixelCnn({1, 28, 28}, 3, 16, 4), le::ModelError);  // even
        QVERIFY_EXCEPTION_THROWN(makePixelCnn({1, 28, 28}, 1, 16), le::ModelError);
        QVERIFY_EXCEPTION_THROWN(makePixelCnn({1, 28, 28}, 3, 2), le::ModelError);
        auto model = makePixelCnn({3, 32, 32}, 3, 16);
        const le::Capabilities c = model->capabilities();
        QVERIFY(c.sample && c.exactLikelihood && c.autoregressive);
        QVERIFY(!c.encode && !c.decode && !c.likelihoodBound && !c.codeGrid);
        QCOMPARE(model->latentDim(), int64_t{0});
        QVERIFY_EXCEPTION_THROWN(model->encode(torch::zeros({1, 3, 32, 32})), le::ModelError);
    }

    // Each value's distribution depends on every value before it in raster (and channel) order
    // within the receptive field, and on nothing at or after it: no blind spot, no leak.
    // Training (gradients on) pads the causal convolutions differently from sampling: both kept.
    void masksAreCausalWithoutBlindSpot_data() {
        QTest::addColumn<int>("channels");
        QTest::addColumn<bool>("training");
        QTest::newRow("grey, sampling") << 1 << false;
        QTest::newRow("rgb, sampling") << 3 << false;
        QTest::newRow("grey, training") << 1 << true;
        QTest::newRow("rgb, training") << 3 << true;
    }
    void masksAreCausalWithoutBlindSpot() {
        QFETCH(int, channels);
        QFETCH(bool, training);
        const le::ImageShape shape{channels, 8, 8};
        auto model = makePixelCnn(shape, 4, 8);
        scrambleWeights(*model, 5);
        le::PixelCnnNet& net = asPixelCnn(*model).net();
        torch::AutoGradMode gradMode(training);
        const torch::Tensor base = randomValues(shape, 9);
        const torch::Tensor logits = net->forward(base);
        // The target pixel: every earlier one lies within the 4 layers' reach of it.
        const int64_t ti = 3, tj = 4;
        int seen = 0;
        for (int64_t tc = 0; tc < channels; ++tc) {
            const torch::Tensor target = logits.index({0, torch::indexing::Slice(), tc, ti, tj});
            for (int64_t c = 0; c < channels; ++c)
                for (int64_t i = 0; i < shape.height; ++i)
                    for (int64_t j = 0; j < shape.width; ++j) {
                        torch::Tensor changed = base.clone();
                        changed[0][c][i][j] = (base[0][c][i][j].item<int64_t>() + 128) % 256;
                        const torch::Tensor after =
                            net->forward(changed).index({0, torch::indexing::Slice(), tc, ti, tj});
                        const bool moved = !torch::allclose(after, target, 0.0, 1e-7);
                        const bool before =
                            i < ti || (i == ti && j < tj) || (i == ti && j == tj && c < tc);
                        QVERIFY2(moved == before,
                                 qPrintable(QStringLiteral("target c%1 (%2,%3), changed c%4 "
                                                           "(%5,%6): %7")
                                                .arg(tc)
                                                .arg(ti)
                                                .arg(tj)
                                                .arg(c)
                                                .arg(i)
                                                .arg(j)
                                                .arg(moved ? "moved" : "did not move")));
                        seen += before;
                    }
        }
        QVERIFY(seen > 0);
    }

    void trainingAndSamplingPathsAgree() {
        const le::ImageShape shape{3, 8, 8};
        auto model = makePixelCnn(shape, 4, 8);
        scrambleWeights(*model, 6);
        le::PixelCnnNet& net = asPixelCnn(*model).net();
        const torch::Tensor values = randomValues(shape, 11);
        const torch::Tensor training = net->forward(values).detach();
        torch::NoGradGuard noGrad;
        const torch::Tensor sampling = net->forward(values);
        QVERIFY(torch::allclose(training, sampling, 1e-5, 1e-5));
    }

    void cachedSampleEqualsNaiveSample_data() {
        QTest::addColumn<int>("channels");
        QTest::addColumn<bool>("anchored");
        QTest::newRow("grey") << 1 << false;
        QTest::newRow("rgb") << 3 << false;
        QTest::newRow("grey, top half anchored") << 1 << true;
    }
    void cachedSampleEqualsNaiveSample() {
        QFETCH(int, channels);
        QFETCH(bool, anchored);
        const le::ImageShape shape{channels, 12, 11};
        auto model = makePixelCnn(shape, 5, 16, 5);
        scrambleWeights(*model, 21);
        le::SamplerOptions options;
        options.seed = 77;
        options.temperature = 0.9;
        if (anchored) {
            options.anchors = le::PixelCnn::fromValues(randomValues(shape, 3));
            options.anchorMask = torch::zeros({shape.height, shape.width}, torch::kBool);
            options.anchorMask.slice(0, 0, shape.height / 2).fill_(true);
        }
        options.cached = false;
        auto naive = model->sampler(options);
        options.cached = true;
        auto cached = model->sampler(options);
        QCOMPARE(cached->totalSteps(), shape.numel());
        int differentDistributions = 0;
        while (!naive->done()) {
            const le::SampleStep a = naive->step();
            const le::SampleStep b = cached->step();
            QCOMPARE(b.position, a.position);
            QCOMPARE(b.value, a.value);
            QCOMPARE(b.anchored, a.anchored);
            if (!a.anchored) {
                QVERIFY2(torch::allclose(a.probabilities, b.probabilities, 1e-5, 1e-6),
                         qPrintable("position " + QString::number(a.position)));
                differentDistributions +=
                    (a.probabilities - a.probabilities.mean()).abs().max().item<double>() > 1e-3;
            }
        }
        QVERIFY(cached->done());
        QVERIFY(torch::equal(naive->values(), cached->values()));
        QVERIFY2(differentDistributions > 0, "the distributions should not be uniform");
        // The batch path (sample()) is the cached walk over a batch: the naive walk over the
        // same batch gives the same images.
        if (!anchored) {
            le::SamplerOptions batchOptions;
            batchOptions.seed = 5;
            batchOptions.temperature = 0.9;
            batchOptions.cached = false;
            le::PixelCnnStepper naiveBatch(asPixelCnn(*model).net(), 3, batchOptions, "test");
            naiveBatch.runToEnd();
            const torch::Tensor batch = model->sample(3, 0.9, 5);
            QVERIFY(torch::equal(le::PixelCnn::toValues(batch), naiveBatch.values()));
        }
    }

    void steppingReportsPositionsAndDistributions() {
        const le::ImageShape shape{3, 8, 8};
        auto model = makePixelCnn(shape, 2, 8);
        le::SamplerOptions options;
        options.seed = 4;
        auto sampler = model->sampler(options);
        QVERIFY(torch::equal(sampler->values(), torch::full({1, 3, 8, 8}, -1, torch::kLong)));
        for (int64_t p = 0; p < 7; ++p) {
            const le::SampleStep s = sampler->step();
            QCOMPARE(s.position, p);
            QCOMPARE(s.channel, p % 3);
            QCOMPARE(s.row, (p / 3) / 8);
            QCOMPARE(s.col, (p / 3) % 8);
            QCOMPARE(s.probabilities.numel(), int64_t{256});
            QVERIFY(std::abs(s.probabilities.sum().item<double>() - 1.0) < 1e-5);
            QVERIFY(s.value >= 0 && s.value < 256);
            QCOMPARE(sampler->values()[0][s.channel][s.row][s.col].item<int64_t>(), s.value);
        }
        QCOMPARE(sampler->stepsDone(), int64_t{7});
        // Unfilled positions show as 0 (mid-grey) in the image.
        QCOMPARE(sampler->image()[0][2][7][7].item<float>(), 0.0f);
    }

    void anchorsAreKept() {
        const le::ImageShape shape{1, 8, 8};
        auto model = makePixelCnn(shape, 3, 8);
        le::SamplerOptions options;
        const torch::Tensor anchorValues = randomValues(shape, 8);
        options.anchors = le::PixelCnn::fromValues(anchorValues);
        options.anchorMask = torch::zeros({8, 8}, torch::kBool);
        options.anchorMask.slice(0, 0, 4).fill_(true);
        auto sampler = model->sampler(options);
        int anchoredSteps = 0;
        while (!sampler->done()) anchoredSteps += sampler->step().anchored;
        QCOMPARE(anchoredSteps, 32);
        QVERIFY(torch::equal(sampler->values().slice(2, 0, 4), anchorValues.slice(2, 0, 4)));
    }

    void badSamplerInputIsRefused() {
        auto model = makePixelCnn({1, 8, 8}, 2, 8);
        le::SamplerOptions options;
        options.temperature = 0.0;
        QVERIFY_EXCEPTION_THROWN(model->sampler(options), le::ModelError);
        QVERIFY_EXCEPTION_THROWN(model->sample(1, -1.0, 1), le::ModelError);
        options.temperature = 1.0;
        options.anchors = torch::zeros({1, 1, 7, 8});
        options.anchorMask = torch::ones({7, 8}, torch::kBool);
        QVERIFY_EXCEPTION_THROWN(model->sampler(options), le::ModelError);
        options.anchors = torch::zeros({1, 1, 8, 8});
        options.anchorMask = torch::Tensor();
        QVERIFY_EXCEPTION_THROWN(model->sampler(options), le::ModelError);
        QVERIFY_EXCEPTION_THROWN(model->evaluate(torch::zeros({2, 3, 8, 8})), le::ModelError);
    }

    // The exact likelihood is the product of the distributions the sampler steps through: at
    // temperature 1, −log p(sample) equals Σ −log p(value) over the steps.
    void likelihoodMatchesTheSteppedDistributions() {
        const le::ImageShape shape{3, 8, 8};
        auto model = makePixelCnn(shape, 3, 8);
        scrambleWeights(*model, 6);
        le::SamplerOptions options;
        options.seed = 12;
        options.cached = false;
        auto sampler = model->sampler(options);
        double stepped = 0;
        while (!sampler->done()) {
            const le::SampleStep s = sampler->step();
            stepped -= std::log(s.probabilities[s.value].item<double>());
        }
        torch::NoGradGuard noGrad;
        const double nll =
            asPixelCnn(*model).net()->negLogLikelihood(sampler->values()).item<double>();
        QVERIFY2(std::abs(nll - stepped) < 1e-3 * std::abs(nll),
                 qPrintable(QStringLiteral("%1 vs %2").arg(nll).arg(stepped)));
    }

    void learnsFashionMnist() {
        if (m_fashion.train.size() == 0) QSKIP("Fashion-MNIST is not installed");
        torch::manual_seed(2024);
        auto model = makePixelCnn({1, 28, 28}, 4, 32, 5);
        const torch::Tensor heldOut = m_fashion.test.images.slice(0, 0, 500);
        const le::Metrics before = model->evaluate(heldOut);
        QElapsedTimer clock;
        clock.start();
        QVERIFY(le::test::finiteLoss(
            le::test::trainSteps(*model, m_fashion.train.images, kLearnSteps, 32)));
        const double seconds = clock.elapsed() / 1000.0;
        const le::Metrics after = model->evaluate(heldOut);
        qInfo("%d steps in %.1f s: held-out bpd %.3f -> %.3f", kLearnSteps, seconds,
              before.at("bpd"), after.at("bpd"));
        QVERIFY2(after.at("bpd") < kBpdBar, qPrintable(QString::number(after.at("bpd"))));
        QVERIFY2(after.at("bpd") < before.at("bpd") - 2.0,
                 qPrintable(QString::number(after.at("bpd"))));
    }

    void weightsSurviveSaveAndLoad() {
        auto model = makePixelCnn({3, 8, 8}, 3, 8);
        scrambleWeights(*model, 17);
        std::stringstream blob;
        model->saveWeights(blob);
        auto copy = le::ModelRegistry::instance().create("pixelcnn", model->config());
        copy->loadWeights(blob);
        const torch::Tensor x = le::PixelCnn::fromValues(randomValues({3, 8, 8}, 1));
        QCOMPARE(model->evaluate(x).at("bpd"), copy->evaluate(x).at("bpd"));
        QVERIFY(torch::equal(model->sample(2, 1.0, 3), copy->sample(2, 1.0, 3)));
    }

private:
    static constexpr int kLearnSteps = 80;
    static constexpr double kBpdBar = 5.0;
};

QTEST_GUILESS_MAIN(TestPixelCnn)
#include "tst_pixelcnn.moc"
