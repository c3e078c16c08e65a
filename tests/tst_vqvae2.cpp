// VQ-VAE-2: the two code levels packed into one grid, the bottom prior conditioned on the top
// codes, stepping both grids (cached and naive alike, anchors kept), the two training phases on
// Fashion-MNIST, weights and phase surviving a save/load, and the adversarial refinement of the
// decoder sharpening reconstructions while the codes and priors stay as they were.

#include "core/data/fashion_mnist.h"
#include "core/errors.h"
#include "core/metrics/metrics.h"
#include "models/vqvae2.h"

#include <QElapsedTimer>
#include "test_support.h"

#include <QtTest>

#include <torch/torch.h>

#include <sstream>

namespace {

le::ModelConfig vq2Config(const le::ImageShape& shape, int64_t aeSteps, int64_t codes = 16) {
    le::ModelConfig c;
    le::writeImageShape(c, shape);
    c.set("hidden", int64_t{32});
    c.set("codes", codes);
    c.set("code_dim", int64_t{8});
    c.set("ae_steps", aeSteps);
    c.set("prior_hidden", int64_t{32});
    c.set("prior_layers", int64_t{3});
    return c;
}

std::unique_ptr<le::GenerativeModel> makeVq2(const le::ImageShape& shape, int64_t aeSteps,
                                             int64_t codes = 16) {
    return le::ModelRegistry::instance().create("vqvae2", vq2Config(shape, aeSteps, codes));
}

le::VqVae2& asVq2(le::GenerativeModel& model) {
    return dynamic_cast<le::VqVae2&>(model);
}

void randomisePriors(le::VqVae2& model) {
    torch::NoGradGuard noGrad;
    for (auto& p : model.net()->priorParameters()) p.normal_(0.0, 0.3);
}

}  // namespace

class TestVqVae2 : public QObject {
    Q_OBJECT

    le::Dataset m_fashion;

private slots:
    void initTestCase() {
        torch::set_num_threads(1);
        try {
            m_fashion = le::loadFashionMnist(le::defaultFashionMnistDir(), 6000, 1000);
        } catch (const le::DataError& e) {
            qWarning("Fashion-MNIST is not installed (%s): its tests are skipped", e.what());
        }
    }

    void levelsArePackedIntoOneGrid() {
        auto& registry = le::ModelRegistry::instance();
        QCOMPARE(registry.info("vqvae2").kind, le::ModelKind::Hybrid);
        le::ModelConfig bad = vq2Config({1, 28, 28}, 10, 1);
        QVERIFY_EXCEPTION_THROWN(registry.create("vqvae2", bad), le::ModelError);
        bad = vq2Config({1, 28, 28}, 10);
        bad.set("prior_kernel", int64_t{4});
        QVERIFY_EXCEPTION_THROWN(registry.create("vqvae2", bad), le::ModelError);

        // 28×28 pads to 32×32: a 4×4 top grid and an 8×8 bottom one, packed as 2 + 8 rows of 8.
        auto model = makeVq2({1, 28, 28}, 10);
        le::CodeGridModel& grid = *model->codeGrid();
        QCOMPARE(grid.gridHeight(), int64_t{10});
        QCOMPARE(grid.gridWidth(), int64_t{8});
        const auto levels = grid.codeLevels();
        QCOMPARE(int(levels.size()), 2);
        QCOMPARE(levels[0].name, std::string("top"));
        QCOMPARE(levels[0].cells(), int64_t{16});
        QCOMPARE(levels[1].start, int64_t{16});
        QCOMPARE(levels[1].cells(), int64_t{64});
        QCOMPARE(model->latentDim(), int64_t{8 * 80});
        const le::Capabilities caps = model->capabilities();
        QVERIFY(caps.encode && caps.decode && caps.sample && caps.codeGrid && caps.autoregressive &&
                caps.likelihoodBound);
        // Pack and unpack are inverse.
        const torch::Tensor packed = torch::randint(0, 16, {3, 10, 8}, torch::kLong);
        const le::CodeLevels unpacked = asVq2(*model).unpack(packed);
        QCOMPARE(unpacked.top.sizes().vec(), (std::vector<int64_t>{3, 4, 4}));
        QCOMPARE(unpacked.bottom.sizes().vec(), (std::vector<int64_t>{3, 8, 8}));
        QVERIFY(torch::equal(asVq2(*model).pack(unpacked), packed));
        // A 32×32 RGB model needs no padding and has the same grids.
        auto faces = makeVq2({3, 32, 32}, 10);
        QCOMPARE(faces->codeGrid()->gridHeight(), int64_t{10});
    }

    void encodeAndDecodeAgree() {
        torch::manual_seed(5);
        auto model = makeVq2({1, 28, 28}, 10);
        const torch::Tensor x = torch::rand({3, 1, 28, 28}) * 2 - 1;
        model->trainStep(x);  // initialises the codebooks
        le::CodeGridModel& grid = *model->codeGrid();
        const torch::Tensor codes = grid.encodeCodes(x);
        QCOMPARE(codes.sizes().vec(), (std::vector<int64_t>{3, 10, 8}));
        QVERIFY(codes.min().item<int64_t>() >= 0 && codes.max().item<int64_t>() < 16);
        torch::NoGradGuard noGrad;
        const torch::Tensor image = grid.decodeCodes(codes);
        QCOMPARE(image.sizes().vec(), (std::vector<int64_t>{3, 1, 28, 28}));
        QVERIFY(torch::allclose(model->decode(model->encode(x)), image, 1e-5, 1e-6));
        // Both levels matter to the decoder.
        torch::Tensor otherTop = codes.clone();
        otherTop.slice(1, 0, 2).fill_(0);
        torch::Tensor otherBottom = codes.clone();
        otherBottom.slice(1, 2, 10).fill_(0);
        QVERIFY(!torch::allclose(grid.decodeCodes(otherTop), image));
        QVERIFY(!torch::allclose(grid.decodeCodes(otherBottom), image));
        QVERIFY_EXCEPTION_THROWN(grid.decodeCodes(torch::full({1, 10, 8}, 16, torch::kLong)),
                                 le::ModelError);
        QVERIFY_EXCEPTION_THROWN(grid.decodeCodes(torch::zeros({1, 8, 8}, torch::kLong)),
                                 le::ModelError);
        QVERIFY_EXCEPTION_THROWN(model->encode(torch::zeros({1, 3, 28, 28})), le::ModelError);
    }

    void bottomPriorSeesTheTopCodes() {
        torch::manual_seed(6);
        auto model = makeVq2({1, 28, 28}, 0);
        le::VqVae2& vq = asVq2(*model);
        randomisePriors(vq);
        torch::NoGradGuard noGrad;
        const torch::Tensor bottom = torch::randint(0, 16, {1, 1, 8, 8}, torch::kLong);
        const torch::Tensor topA = torch::zeros({1, 4, 4}, torch::kLong);
        const torch::Tensor topB = torch::full({1, 4, 4}, 5, torch::kLong);
        auto& prior = *vq.net()->bottomPrior;
        const torch::Tensor a = prior.forward(bottom, vq.net()->bottomCondition(topA));
        const torch::Tensor b = prior.forward(bottom, vq.net()->bottomCondition(topB));
        // Even the first cell, which sees no codes of its own grid, depends on the top codes.
        QVERIFY(!torch::allclose(a.select(3, 0).select(3, 0), b.select(3, 0).select(3, 0)));
        // And the bottom grid is still causal: changing a later cell leaves earlier logits alone.
        torch::Tensor changed = bottom.clone();
        changed[0][0][5][3] = (changed[0][0][5][3].item<int64_t>() + 1) % 16;
        const torch::Tensor c = prior.forward(changed, vq.net()->bottomCondition(topA));
        const torch::Tensor before = a.flatten(3).narrow(3, 0, 5 * 8 + 4);
        QVERIFY(torch::allclose(before, c.flatten(3).narrow(3, 0, 5 * 8 + 4), 1e-5, 1e-6));
        QVERIFY_EXCEPTION_THROWN(prior.forward(bottom), le::ModelError);
    }

    void stepsTheTopGridThenTheBottom() {
        torch::manual_seed(7);
        auto model = makeVq2({1, 28, 28}, 0);
        randomisePriors(asVq2(*model));
        le::SamplerOptions options;
        options.seed = 9;
        options.cached = false;
        auto naive = model->sampler(options);
        options.cached = true;
        auto cached = model->sampler(options);
        QCOMPARE(cached->totalSteps(), int64_t{80});
        QCOMPARE(cached->stepsPerRow(), int64_t{8});
        int64_t step = 0;
        while (!cached->done()) {
            const le::SampleStep a = naive->step();
            const le::SampleStep b = cached->step();
            QCOMPARE(b.value, a.value);
            QCOMPARE(b.position, step);
            // Packed coordinates: the top grid's 16 codes fill rows 0-1, then the bottom's.
            QCOMPARE(int64_t(b.row * 8 + b.col), step);
            QCOMPARE(b.probabilities.numel(), int64_t{16});
            if (step == 15) {
                // The top grid is full, the bottom still blank.
                const torch::Tensor v = cached->values()[0][0];
                QVERIFY((v.slice(0, 0, 2) >= 0).all().item<bool>());
                QVERIFY((v.slice(0, 2, 10) < 0).all().item<bool>());
            }
            ++step;
        }
        QVERIFY(torch::equal(naive->values(), cached->values()));
        QCOMPARE(cached->image().sizes().vec(), (std::vector<int64_t>{1, 1, 28, 28}));
        // sample() draws the same codes as the stepper for one seed.
        torch::NoGradGuard noGrad;
        QVERIFY(torch::allclose(model->sample(1, 1.0, 9),
                                model->codeGrid()->decodeCodes(cached->values()[0])));
        // Anchors in the packed grid: the whole top grid and the first bottom row kept.
        const torch::Tensor grid = torch::randint(0, 16, {10, 8}, torch::kLong);
        options.anchors = grid;
        options.anchorMask = torch::zeros({10, 8}, torch::kBool);
        options.anchorMask.slice(0, 0, 3).fill_(true);
        auto completer = model->sampler(options);
        while (!completer->done()) completer->step();
        QVERIFY(torch::equal(completer->values()[0][0].slice(0, 0, 3), grid.slice(0, 0, 3)));
        options.anchors = torch::zeros({8, 8}, torch::kLong);
        options.anchorMask = torch::zeros({8, 8}, torch::kBool);
        QVERIFY_EXCEPTION_THROWN(model->sampler(options), le::ModelError);
    }

    void learnsBothPhasesOnFashionMnist() {
        if (m_fashion.train.size() == 0) QSKIP("Fashion-MNIST is not installed");
        torch::manual_seed(2024);
        auto model = makeVq2({1, 28, 28}, kAeSteps);
        const torch::Tensor heldOut = m_fashion.test.images.slice(0, 0, 500);
        QElapsedTimer clock;
        clock.start();
        const le::Metrics first = model->evaluate(heldOut);
        const le::Metrics afterAe =
            le::test::trainSteps(*model, m_fashion.train.images, kAeSteps, 64);
        QCOMPARE(afterAe.at("phase"), 1.0);
        const le::Metrics mid = model->evaluate(heldOut);
        QVERIFY(asVq2(*model).inPriorPhase());
        const le::Metrics afterPrior =
            le::test::trainSteps(*model, m_fashion.train.images, kPriorSteps, 64);
        QCOMPARE(afterPrior.at("phase"), 2.0);
        const le::Metrics end = model->evaluate(heldOut);
        qInfo(
            "%.1f s: held-out recon_mse %.4f -> %.4f, perplexity top %.1f bottom %.1f; prior nll "
            "%.1f -> %.1f nats (top %.1f, bottom %.1f), bpd %.3f -> %.3f",
            clock.elapsed() / 1000.0, first.at("recon_mse"), mid.at("recon_mse"),
            mid.at("perplexity_top"), mid.at("perplexity"), mid.at("prior_nll"),
            end.at("prior_nll"), end.at("prior_top_nll"), end.at("prior_bottom_nll"), mid.at("bpd"),
            end.at("bpd"));
        // The reconstruction must beat the mean image (MSE ≈ 0.35) by far with both levels in
        // use; the priors must learn (uniform codes cost 80·ln 16 ≈ 222 nats) and leave the
        // autoencoder alone.
        QVERIFY2(mid.at("recon_mse") < kMseBar, qPrintable(QString::number(mid.at("recon_mse"))));
        QVERIFY2(mid.at("perplexity") > 4.0 && mid.at("perplexity_top") > 2.0,
                 qPrintable(QString::number(mid.at("perplexity"))));
        QVERIFY2(end.at("prior_nll") < mid.at("prior_nll") - 20.0,
                 qPrintable(QString::number(end.at("prior_nll"))));
        QCOMPARE(end.at("recon_mse"), mid.at("recon_mse"));
        QVERIFY(end.at("bpd") < mid.at("bpd"));
    }

    void weightsAndPhaseSurviveSaveAndLoad() {
        torch::manual_seed(8);
        auto model = makeVq2({1, 28, 28}, 3);
        const torch::Tensor x = torch::rand({8, 1, 28, 28}) * 2 - 1;
        for (int k = 0; k < 4; ++k) model->trainStep(x);
        QVERIFY(asVq2(*model).inPriorPhase());
        std::stringstream blob;
        model->saveWeights(blob);
        auto copy = le::ModelRegistry::instance().create("vqvae2", model->config());
        QVERIFY(!asVq2(*copy).inPriorPhase());
        copy->loadWeights(blob);
        QVERIFY(asVq2(*copy).inPriorPhase());
        QCOMPARE(model->evaluate(x).at("bpd"), copy->evaluate(x).at("bpd"));
        QVERIFY(torch::equal(model->codeGrid()->encodeCodes(x), copy->codeGrid()->encodeCodes(x)));
        // A single-level VQ-VAE's weights are not a VQ-VAE-2's.
        auto single = le::ModelRegistry::instance().create("vqvae", model->config());
        std::stringstream other;
        single->saveWeights(other);
        QVERIFY_EXCEPTION_THROWN(copy->loadWeights(other), le::ModelError);
    }

    void refinementSharpensTheDecoderAndLeavesTheCodes() {
        if (m_fashion.train.size() == 0) QSKIP("Fashion-MNIST is not installed");
        torch::manual_seed(2025);
        le::ModelConfig config = vq2Config({1, 28, 28}, kAeSteps);
        config.set("refine_from", int64_t{kAeSteps});
        config.set("refine_adv", 2.0);  // a short run: a strong GAN term, so its effect shows
        auto model = le::ModelRegistry::instance().create("vqvae2", config);
        le::test::trainSteps(*model, m_fashion.train.images, kAeSteps, 64);
        QVERIFY(asVq2(*model).inRefinePhase() && !asVq2(*model).inPriorPhase());
        // The control: the same autoencoder refined by its L1 term alone (refine_adv = 0).
        config.set("refine_adv", 0.0);
        auto control = le::ModelRegistry::instance().create("vqvae2", config);
        std::stringstream weights;
        model->saveWeights(weights);
        control->loadWeights(weights);
        control->setStepsTaken(model->stepsTaken());
        const torch::Tensor heldOut = m_fashion.test.images.slice(0, 0, 500);
        const auto reconstruct = [&](le::GenerativeModel& m) {
            torch::NoGradGuard noGrad;
            le::AveragedWeightsScope averaged(m);
            return m.codeGrid()->decodeCodes(m.codeGrid()->encodeCodes(heldOut));
        };
        const torch::Tensor codesBefore = model->codeGrid()->encodeCodes(heldOut);
        const torch::Tensor before = reconstruct(*model);
        const le::Metrics mid = model->evaluate(heldOut);
        QElapsedTimer clock;
        clock.start();
        const le::Metrics last =
            le::test::trainSteps(*model, m_fashion.train.images, kRefineSteps, 64);
        QCOMPARE(last.at("phase"), 3.0);
        QVERIFY(last.count("d_real") && last.count("adv_weight"));
        const torch::Tensor after = reconstruct(*model);
        const le::Metrics end = model->evaluate(heldOut);
        torch::manual_seed(2026);
        le::test::trainSteps(*control, m_fashion.train.images, kRefineSteps, 64);
        const double data = le::meanSharpness(heldOut);
        const double sharpBefore = le::meanSharpness(before) / data;
        const double sharpAfter = le::meanSharpness(after) / data;
        const double sharpL1 = le::meanSharpness(reconstruct(*control)) / data;
        const double mseBefore = (before - heldOut).pow(2).mean().item<double>();
        const double mseAfter = (after - heldOut).pow(2).mean().item<double>();
        qInfo(
            "%.1f s: %d refinement steps, reconstruction sharpness %.3f -> %.3f of the data's "
            "(%.3f by L1 alone), MSE %.4f -> %.4f, adv_weight %.3f",
            clock.elapsed() / 1000.0, kRefineSteps, sharpBefore, sharpAfter, sharpL1, mseBefore,
            mseAfter, last.at("adv_weight"));
        // The codes and the priors' likelihood of them must not move; the decoder must.
        QVERIFY(torch::equal(model->codeGrid()->encodeCodes(heldOut), codesBefore));
        QCOMPARE(end.at("prior_nll"), mid.at("prior_nll"));
        QVERIFY2(sharpAfter > kSharperBy * sharpBefore,
                 qPrintable(QString("%1 -> %2").arg(sharpBefore).arg(sharpAfter)));
        // The sharpening is the discriminator's doing, not the switch from MSE to L1.
        QVERIFY2(sharpAfter > kSharperThanL1By * sharpL1,
                 qPrintable(QString("%1 against %2 by L1 alone").arg(sharpAfter).arg(sharpL1)));
        QVERIFY2(mseAfter < 1.5 * mseBefore,
                 qPrintable(QString("%1 -> %2").arg(mseBefore).arg(mseAfter)));
        QVERIFY(std::isfinite(end.at("bpd")));
    }

    void refinementConfigAndWeights() {
        le::ModelConfig config = vq2Config({1, 28, 28}, 10);
        config.set("refine_from", int64_t{5});
        QVERIFY_EXCEPTION_THROWN(le::ModelRegistry::instance().create("vqvae2", config),
                                 le::ModelError);
        config.set("refine_from", int64_t{10});
        config.set("refine_adv", -1.0);
        QVERIFY_EXCEPTION_THROWN(le::ModelRegistry::instance().create("vqvae2", config),
                                 le::ModelError);
        config.set("refine_adv", 0.25);
        auto refining = le::ModelRegistry::instance().create("vqvae2", config);
        QCOMPARE(refining->config().getDouble("refine_adv", 0.0), 0.25);
        QCOMPARE(refining->config().getString("refine_from", ""), std::string("10"));
        // A file that never refines keeps the config it always had.
        auto plain = makeVq2({1, 28, 28}, 10);
        QVERIFY(!plain->config().has("refine_from"));
        // The discriminator is not saved, so a plain file continues as a refining run (--init)
        // and a refined file opens without one.
        const torch::Tensor x = torch::rand({4, 1, 28, 28}) * 2 - 1;
        std::stringstream plainWeights, refinedWeights;
        plain->saveWeights(plainWeights);
        refining->loadWeights(plainWeights);
        QCOMPARE(refining->evaluate(x).at("bpd"), plain->evaluate(x).at("bpd"));
        refining->saveWeights(refinedWeights);
        auto reopened = makeVq2({1, 28, 28}, 10);
        reopened->loadWeights(refinedWeights);
        QCOMPARE(reopened->evaluate(x).at("bpd"), plain->evaluate(x).at("bpd"));
    }

private:
    static constexpr int kRefineSteps = 150;
    static constexpr double kSharperBy = 1.15;
    static constexpr double kSharperThanL1By = 1.25;
    static constexpr int kAeSteps = 250;
    static constexpr int kPriorSteps = 150;
    static constexpr double kMseBar = 0.08;
};

QTEST_GUILESS_MAIN(TestVqVae2)
#include "tst_vqvae2.moc"
