// VQ-VAE with a PixelCNN prior: the codebook's nearest-code search, EMA updates and dead-code
// restarts; the two training phases on Fashion-MNIST (reconstruction, then the prior's NLL);
// stepping the prior over the code grid with anchors; weights and phase surviving a save/load.

#include "core/data/fashion_mnist.h"
#include "core/errors.h"
#include "models/vqvae.h"

#include <QElapsedTimer>
#include "test_support.h"

#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace {

le::ModelConfig vqConfig(const le::ImageShape& shape, int64_t aeSteps, int64_t codes = 32) {
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

std::unique_ptr<le::GenerativeModel> makeVqVae(const le::ImageShape& shape, int64_t aeSteps,
                                               int64_t codes = 32) {
    return le::ModelRegistry::instance().create("vqvae", vqConfig(shape, aeSteps, codes));
}

le::VqVae& asVq(le::GenerativeModel& model) {
    return dynamic_cast<le::VqVae&>(model);
}

}  // namespace

class TestVqVae : public QObject {
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

    void configIsValidated() {
        auto& registry = le::ModelRegistry::instance();
        le::ModelConfig c = vqConfig({1, 30, 30}, 10);  // not divisible by 4
        QVERIFY_EXCEPTION_THROWN(registry.create("vqvae", c), le::ModelError);
        c = vqConfig({1, 28, 28}, 10, 1);
        QVERIFY_EXCEPTION_THROWN(registry.create("vqvae", c), le::ModelError);
        c = vqConfig({1, 28, 28}, 10);
        c.set("decay", 1.0);
        QVERIFY_EXCEPTION_THROWN(registry.create("vqvae", c), le::ModelError);
        auto model = makeVqVae({3, 32, 32}, 10);
        const le::Capabilities caps = model->capabilities();
        QVERIFY(caps.encode && caps.decode && caps.sample && caps.codeGrid && caps.autoregressive);
        QVERIFY(!caps.exactLikelihood && !caps.inversionByOptimisation);
        QCOMPARE(model->latentDim(), int64_t{8 * 8 * 8});
        QCOMPARE(asVq(*model).options().gridHeight(), int64_t{8});
    }

    void codebookFindsNearestAndFollowsItsVectors() {
        torch::manual_seed(3);
        le::Codebook book(4, 2, 0.5);
        const torch::Tensor z = torch::randn({2, 2, 3, 3});
        book->initializeFrom(z);
        // Nearest by brute force.
        const torch::Tensor idx = book->nearest(z);
        const torch::Tensor codes = book->lookup(torch::arange(4).view({1, 2, 2})).flatten(2);
        for (int64_t n = 0; n < 2; ++n)
            for (int64_t i = 0; i < 3; ++i)
                for (int64_t j = 0; j < 3; ++j) {
                    const torch::Tensor v = z.index({n, torch::indexing::Slice(), i, j});
                    const torch::Tensor d = (codes[0].t() - v).pow(2).sum(1);
                    QCOMPARE(idx[n][i][j].item<int64_t>(), d.argmin().item<int64_t>());
                }
        // With a short memory the EMA update is a k-means (Lloyd) step: fed the same vectors until
        // the assignment settles, each used code is the mean of the vectors assigned to it.
        le::Codebook lloyd(4, 2, 0.01);
        lloyd->initializeFrom(z);
        torch::Tensor previous;
        for (int k = 0; k < 100; ++k) {
            const torch::Tensor current = lloyd->nearest(z);
            if (previous.defined() && torch::equal(previous, current)) break;
            lloyd->update(z, current);
            previous = current;
        }
        lloyd->update(z, lloyd->nearest(z));
        book = lloyd;
        const torch::Tensor assigned = book->nearest(z).flatten();
        const torch::Tensor vectors = z.permute({0, 2, 3, 1}).reshape({-1, 2});
        const torch::Tensor entries =
            book->lookup(torch::arange(4).view({1, 2, 2})).permute({0, 2, 3, 1}).reshape({-1, 2});
        int used = 0;
        for (int64_t code = 0; code < 4; ++code) {
            const torch::Tensor rows = (assigned == code).nonzero().flatten();
            if (rows.numel() == 0) continue;
            ++used;
            const torch::Tensor mean = vectors.index_select(0, rows).mean(0);
            QVERIFY2(torch::allclose(entries[code], mean, 1e-3, 1e-3),
                     qPrintable(QString::number(code)));
        }
        QVERIFY(used >= 2);
    }

    void deadCodesRestart() {
        torch::manual_seed(4);
        le::Codebook book(8, 2, 0.5);
        book->initializeFrom(torch::randn({1, 2, 4, 4}));
        // Every vector near one point: all but one code fall out of use and are restarted.
        const torch::Tensor z = 0.01 * torch::randn({1, 2, 4, 4}) + 5.0;
        int64_t restarted = 0;
        for (int k = 0; k < 12; ++k) restarted += book->update(z, book->nearest(z));
        QVERIFY2(restarted >= 7, qPrintable(QString::number(restarted)));
        // Restarted codes sit on the data now.
        const torch::Tensor used = std::get<0>(torch::_unique(book->nearest(z)));
        QVERIFY(used.numel() > 1);
    }

    void encodeAndDecodeAgree() {
        torch::manual_seed(5);
        auto model = makeVqVae({1, 28, 28}, 10);
        const torch::Tensor x = torch::rand({3, 1, 28, 28}) * 2 - 1;
        model->trainStep(x);  // initialises the codebook
        le::VqVae& vq = asVq(*model);
        const torch::Tensor codes = vq.encodeCodes(x);
        QCOMPARE(codes.sizes().vec(), (std::vector<int64_t>{3, 7, 7}));
        QVERIFY(codes.min().item<int64_t>() >= 0 && codes.max().item<int64_t>() < 32);
        torch::NoGradGuard noGrad;
        // The two paths lay the code grid out differently in memory, so they agree to rounding.
        QVERIFY(
            torch::allclose(model->decode(model->encode(x)), vq.decodeCodes(codes), 1e-5, 1e-6));
        QVERIFY_EXCEPTION_THROWN(vq.decodeCodes(torch::full({1, 7, 7}, 32, torch::kLong)),
                                 le::ModelError);
        QVERIFY_EXCEPTION_THROWN(vq.decodeCodes(torch::zeros({1, 8, 8}, torch::kLong)),
                                 le::ModelError);
        QVERIFY_EXCEPTION_THROWN(model->sample(1, 0.0, 1), le::ModelError);
        QVERIFY_EXCEPTION_THROWN(model->encode(torch::zeros({1, 3, 28, 28})), le::ModelError);
    }

    void learnsBothPhasesOnFashionMnist() {
        if (m_fashion.train.size() == 0) QSKIP("Fashion-MNIST is not installed");
        torch::manual_seed(2024);
        auto model = makeVqVae({1, 28, 28}, kAeSteps);
        const torch::Tensor heldOut = m_fashion.test.images.slice(0, 0, 500);
        QElapsedTimer clock;
        clock.start();
        const le::Metrics afterAe =
            le::test::trainSteps(*model, m_fashion.train.images, kAeSteps, 64);
        QCOMPARE(afterAe.at("phase"), 1.0);
        const le::Metrics mid = model->evaluate(heldOut);
        QVERIFY(asVq(*model).inPriorPhase());
        const le::Metrics afterPrior =
            le::test::trainSteps(*model, m_fashion.train.images, kPriorSteps, 64);
        QCOMPARE(afterPrior.at("phase"), 2.0);
        const le::Metrics end = model->evaluate(heldOut);
        qInfo(
            "%.1f s: held-out recon_mse %.4f, perplexity %.1f; prior nll %.1f -> %.1f nats, "
            "bpd %.3f -> %.3f",
            clock.elapsed() / 1000.0, mid.at("recon_mse"), mid.at("perplexity"),
            mid.at("prior_nll"), end.at("prior_nll"), mid.at("bpd"), end.at("bpd"));
        // The reconstruction must beat the mean image (MSE ≈ 0.35 on [-1, 1] for Fashion-MNIST)
        // by far, with many codes in use; the prior must learn the codes' statistics (uniform
        // codes cost 49·ln 32 ≈ 170 nats) and leave the autoencoder untouched.
        QVERIFY2(mid.at("recon_mse") < kMseBar, qPrintable(QString::number(mid.at("recon_mse"))));
        QVERIFY2(mid.at("perplexity") > 8.0, qPrintable(QString::number(mid.at("perplexity"))));
        QVERIFY2(end.at("prior_nll") < mid.at("prior_nll") - 20.0,
                 qPrintable(QString::number(end.at("prior_nll"))));
        QCOMPARE(end.at("recon_mse"), mid.at("recon_mse"));
        QVERIFY(end.at("bpd") < mid.at("bpd"));
    }

    void priorStepsOverTheCodeGrid() {
        torch::manual_seed(6);
        auto model = makeVqVae({1, 28, 28}, 0);
        for (auto& p : asVq(*model).net()->prior->parameters()) {
            torch::NoGradGuard noGrad;
            p.normal_(0.0, 0.3);
        }
        le::SamplerOptions options;
        options.seed = 9;
        options.cached = false;
        auto naive = model->sampler(options);
        options.cached = true;
        auto cached = model->sampler(options);
        QCOMPARE(cached->totalSteps(), int64_t{49});
        while (!cached->done()) {
            const le::SampleStep a = naive->step();
            const le::SampleStep b = cached->step();
            QCOMPARE(b.value, a.value);
            QCOMPARE(b.probabilities.numel(), int64_t{32});
        }
        QVERIFY(torch::equal(naive->values(), cached->values()));
        QCOMPARE(cached->image().sizes().vec(), (std::vector<int64_t>{1, 1, 28, 28}));
        // Anchors: the top rows of a grid are kept.
        const torch::Tensor grid = torch::randint(0, 32, {7, 7}, torch::kLong);
        options.anchors = grid;
        options.anchorMask = torch::zeros({7, 7}, torch::kBool);
        options.anchorMask.slice(0, 0, 3).fill_(true);
        auto completer = model->sampler(options);
        while (!completer->done()) completer->step();
        QVERIFY(torch::equal(completer->values()[0][0].slice(0, 0, 3), grid.slice(0, 0, 3)));
        options.anchors = torch::zeros({8, 8}, torch::kLong);
        QVERIFY_EXCEPTION_THROWN(model->sampler(options), le::ModelError);
    }

    void weightsAndPhaseSurviveSaveAndLoad() {
        torch::manual_seed(7);
        auto model = makeVqVae({1, 28, 28}, 3);
        const torch::Tensor x = torch::rand({8, 1, 28, 28}) * 2 - 1;
        for (int k = 0; k < 4; ++k) model->trainStep(x);
        QVERIFY(asVq(*model).inPriorPhase());
        std::stringstream blob;
        model->saveWeights(blob);
        auto copy = le::ModelRegistry::instance().create("vqvae", model->config());
        QVERIFY(!asVq(*copy).inPriorPhase());
        copy->loadWeights(blob);
        QVERIFY(asVq(*copy).inPriorPhase());
        QCOMPARE(model->evaluate(x).at("bpd"), copy->evaluate(x).at("bpd"));
        QVERIFY(torch::equal(asVq(*model).encodeCodes(x), asVq(*copy).encodeCodes(x)));
    }

    // A wider prior beside a trained autoencoder: the prior's weights are left fresh, the rest
    // comes over, and setting the steps moves the phase with them.
    void aFreshPriorOfAnotherSizeKeepsTheAutoencoder() {
        torch::manual_seed(11);
        auto model = makeVqVae({1, 28, 28}, 3);
        const torch::Tensor x = torch::rand({8, 1, 28, 28}) * 2 - 1;
        for (int k = 0; k < 4; ++k) model->trainStep(x);
        std::stringstream blob;
        model->saveWeights(blob);
        le::ModelConfig config = model->config();
        config.set("prior_hidden", int64_t{24});
        auto wider = le::ModelRegistry::instance().create("vqvae", config);
        const torch::Tensor freshPrior =
            asVq(*wider).net()->prior->parameters()[0].detach().clone();
        QVERIFY_EXCEPTION_THROWN(wider->loadWeights(blob), le::ModelError);
        blob.seekg(0);
        QVERIFY_EXCEPTION_THROWN(wider->loadWeights(blob, {"nothing."}), le::ModelError);
        blob.seekg(0);
        wider->loadWeights(blob, {"prior."});
        QVERIFY(torch::equal(asVq(*wider).net()->prior->parameters()[0], freshPrior));
        QVERIFY(torch::equal(asVq(*wider).encodeCodes(x), asVq(*model).encodeCodes(x)));
        QCOMPARE(wider->evaluate(x).at("recon_mse"), model->evaluate(x).at("recon_mse"));
        QVERIFY(asVq(*wider).inPriorPhase());
        wider->setStepsTaken(1);
        QVERIFY(!asVq(*wider).inPriorPhase());
        wider->setStepsTaken(3);
        QVERIFY(asVq(*wider).inPriorPhase());
        QCOMPARE(wider->trainStep(x).at("phase"), 2.0);
        QCOMPARE(wider->stepsTaken(), int64_t{4});
    }

    // The refinement phase (shared with the VQ-VAE-2, whose test measures its sharpening): after
    // a prior phase, only the decoder moves; the codes and the prior stay as they were, and its
    // weights open as a plain VQ-VAE's.
    void refinementMovesOnlyTheDecoder() {
        torch::manual_seed(9);
        le::ModelConfig config = vqConfig({1, 28, 28}, 3);
        config.set("refine_from", int64_t{2});
        QVERIFY_EXCEPTION_THROWN(le::ModelRegistry::instance().create("vqvae", config),
                                 le::ModelError);
        config.set("refine_from", int64_t{6});
        auto model = le::ModelRegistry::instance().create("vqvae", config);
        QCOMPARE(model->config().getString("refine_from", ""), std::string("6"));
        QVERIFY(!makeVqVae({1, 28, 28}, 3)->config().has("refine_from"));
        const torch::Tensor x = torch::rand({8, 1, 28, 28}) * 2 - 1;
        for (int k = 0; k < 6; ++k) model->trainStep(x);
        QVERIFY(asVq(*model).inRefinePhase() && !asVq(*model).inPriorPhase());
        const auto snapshot = [&](const char* prefix) {
            std::vector<torch::Tensor> values;
            for (const auto& p : asVq(*model).net()->named_parameters())
                if (p.key().rfind(prefix, 0) == 0) values.push_back(p.value().detach().clone());
            return values;
        };
        const auto changed = [](const std::vector<torch::Tensor>& a,
                                const std::vector<torch::Tensor>& b) {
            bool any = false;
            for (size_t i = 0; i < a.size(); ++i) any = any || !torch::equal(a[i], b[i]);
            return any;
        };
        const auto prior = snapshot("prior."), decoder = snapshot("decoder.");
        const auto encoder = snapshot("encoder.");
        const torch::Tensor codes = asVq(*model).encodeCodes(x);
        le::Metrics last;
        for (int k = 0; k < 4; ++k) last = model->trainStep(x);
        QCOMPARE(last.at("phase"), 3.0);
        QVERIFY(std::isfinite(last.at("d_loss")) && last.at("adv_weight") >= 0.0);
        QVERIFY(!changed(prior, snapshot("prior.")));
        QVERIFY(!changed(encoder, snapshot("encoder.")));
        QVERIFY(changed(decoder, snapshot("decoder.")));
        QVERIFY(torch::equal(asVq(*model).encodeCodes(x), codes));
        std::stringstream blob;
        model->saveWeights(blob);
        auto plain = makeVqVae({1, 28, 28}, 3);
        plain->loadWeights(blob);
        QCOMPARE(plain->evaluate(x).at("bpd"), model->evaluate(x).at("bpd"));
    }

private:
    static constexpr int kAeSteps = 250;
    static constexpr int kPriorSteps = 150;
    static constexpr double kMseBar = 0.08;
};

QTEST_GUILESS_MAIN(TestVqVae)
#include "tst_vqvae.moc"
