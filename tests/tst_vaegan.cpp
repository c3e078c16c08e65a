// The VAE-GAN: its config is checked, it learns on Fashion-MNIST within a small CPU budget
// (reconstructions improve, held-out ones beat the mean image, the bound falls, samples sharper
// than a VAE's), every network takes its step, and its weights survive a save and load.

#include "core/data/fashion_mnist.h"
#include "core/errors.h"
#include "core/metrics/metrics.h"
#include "models/vaegan.h"

#include <QtTest>

#include <torch/torch.h>

#include <map>
#include <numeric>
#include <sstream>
#include <vector>

namespace {

le::ModelConfig vaeGanConfig(const le::ImageShape& shape) {
    le::ModelConfig c;
    le::writeImageShape(c, shape);
    c.set("latent", int64_t{16});
    c.set("hidden", int64_t{16});
    return c;
}

std::unique_ptr<le::GenerativeModel> makeVaeGan(const le::ImageShape& shape) {
    return le::ModelRegistry::instance().create("vaegan", vaeGanConfig(shape));
}

double meanOf(const std::vector<double>& v, size_t begin, size_t end) {
    return std::accumulate(v.begin() + begin, v.begin() + end, 0.0) / double(end - begin);
}

}  // namespace

class TestVaeGan : public QObject {
    Q_OBJECT

    le::Dataset m_data;

private slots:
    void initTestCase() {
        torch::set_num_threads(1);  // the same numbers on every machine
        try {
            m_data = le::loadFashionMnist(le::defaultFashionMnistDir(), 6000, 1000);
        } catch (const le::DataError& e) {
            qWarning("Fashion-MNIST is not installed (%s): its tests are skipped", e.what());
        }
    }

    void configIsValidated() {
        auto& registry = le::ModelRegistry::instance();
        for (const auto& [key, value] :
             std::vector<std::pair<std::string, std::string>>{{"gamma", "0"},
                                                              {"beta", "-1"},
                                                              {"channels", "2"},
                                                              {"r1_interval", "0"},
                                                              {"beta1", "1"},
                                                              {"latent", "0"}}) {
            le::ModelConfig c = vaeGanConfig({1, 28, 28});
            c.set(key, value);
            try {
                registry.create("vaegan", c);
                QFAIL(qPrintable(QString::fromStdString(key + "=" + value + " was accepted")));
            } catch (const le::ModelError& e) {
                QVERIFY2(QString(e.what()).startsWith("vaegan: "), e.what());
            }
        }
        auto model = makeVaeGan({3, 32, 32});
        const le::Capabilities c = model->capabilities();
        QVERIFY(c.encode && c.decode && c.sample && c.likelihoodBound);
        QVERIFY(!c.exactLikelihood && !c.inversionByOptimisation && !c.autoregressive);
        QCOMPARE(registry.info("vaegan").kind, le::ModelKind::Hybrid);
        const torch::Tensor x = torch::rand({4, 3, 32, 32}) * 2 - 1;
        QCOMPARE(model->encode(x).sizes(), (torch::IntArrayRef{4, 16}));
        QCOMPARE(model->decode(model->encode(x)).sizes(), x.sizes());
        QVERIFY_EXCEPTION_THROWN(model->decode(torch::zeros({2, 5})), le::ModelError);
        QVERIFY_EXCEPTION_THROWN(model->encode(torch::zeros({2, 1, 28, 28})), le::ModelError);
    }

    // One trainStep updates all four parameter sets: encoder, decoder, the likelihood's scale
    // (each from its own objective) and the discriminator.
    void everyNetworkTakesAStep() {
        auto model = makeVaeGan({1, 28, 28});
        std::vector<torch::Tensor> before;
        for (const auto& p : model->module().named_parameters(true))
            before.push_back(p.value().clone());
        model->trainStep(torch::rand({8, 1, 28, 28}) * 2 - 1);
        std::map<std::string, int> moved;
        size_t i = 0;
        for (const auto& p : model->module().named_parameters(true)) {
            const std::string& name = p.key();
            const std::string part = name.rfind("vae.decoder.", 0) == 0 ? "decoder"
                                     : name == "vae.log_scale"          ? "scale"
                                     : name.rfind("vae.", 0) == 0       ? "encoder"
                                                                        : "discriminator";
            moved[part] += torch::equal(before[i++], p.value()) ? 0 : 1;
        }
        for (const char* part : {"encoder", "decoder", "scale", "discriminator"})
            QVERIFY2(moved[part] > 0, part);
    }

    // Loss falls and held-out bars are crossed, and the paper's point shows already: samples
    // sharper than those of a VAE with the same encoder and decoder trained as long.
    void learnsFashionMnist() {
        if (m_data.train.size() == 0) QSKIP("Fashion-MNIST is not installed");
        const torch::Tensor heldOut = m_data.test.images.slice(0, 0, 500);
        torch::manual_seed(7);
        auto model = makeVaeGan({1, 28, 28});
        le::ModelConfig vaeConfig = vaeGanConfig({1, 28, 28});
        vaeConfig.set("arch", std::string("conv"));
        auto vae = le::ModelRegistry::instance().create("vae", vaeConfig);
        const le::Metrics before = model->evaluate(heldOut);
        std::vector<double> mse;
        torch::Tensor order = torch::randperm(m_data.train.size());
        for (int step = 0; step < kSteps; ++step) {
            const int64_t first = (int64_t(step) * kBatch) % (m_data.train.size() - kBatch);
            const torch::Tensor batch =
                m_data.train.images.index_select(0, order.slice(0, first, first + kBatch));
            const le::Metrics m = model->trainStep(batch);
            vae->trainStep(batch);
            QVERIFY2(std::isfinite(m.at("loss")), qPrintable("step " + QString::number(step)));
            mse.push_back(m.at("recon_mse"));
        }
        const le::Metrics after = model->evaluate(heldOut);
        const double meanImageMse =
            (heldOut - m_data.train.images.mean(0, true)).pow(2).mean().item<double>();
        torch::NoGradGuard noGrad;
        const double sharpness = le::meanSharpness(model->sample(200, 1.0, 3).clamp(-1, 1));
        const double vaeSharpness = le::meanSharpness(vae->sample(200, 1.0, 3).clamp(-1, 1));
        qInfo(
            "recon_mse %.3f -> %.3f in training; held-out %.4f (mean image %.4f), bpd %.3f -> "
            "%.3f; sample sharpness %.0f against the VAE's %.0f",
            meanOf(mse, 0, 20), meanOf(mse, kSteps - 20, kSteps), after.at("recon_mse"),
            meanImageMse, before.at("bpd"), after.at("bpd"), sharpness, vaeSharpness);
        QVERIFY2(meanOf(mse, kSteps - 20, kSteps) < 0.7 * meanOf(mse, 0, 20),
                 "reconstructions improve in training");
        QVERIFY2(after.at("recon_mse") < 0.6 * meanImageMse,
                 "held-out reconstructions beat the mean image by a margin");
        QVERIFY2(after.at("bpd") < before.at("bpd") - 0.5, "the bound falls");
        QVERIFY2(sharpness > 1.3 * vaeSharpness, "samples sharper than the VAE's");
    }

    void weightsSurviveSaveAndLoad() {
        auto model = makeVaeGan({3, 32, 32});
        model->trainStep(torch::rand({4, 3, 32, 32}) * 2 - 1);
        std::stringstream blob;
        model->saveWeights(blob);
        auto copy = le::ModelRegistry::instance().create("vaegan", model->config());
        copy->loadWeights(blob);
        const torch::Tensor z = model->samplePrior(3, 1.0, 5);
        QVERIFY(torch::equal(model->decode(z), copy->decode(z)));
        QCOMPARE(copy->config().values(), model->config().values());
    }

private:
    static constexpr int kSteps = 600;
    static constexpr int64_t kBatch = 64;
};

QTEST_GUILESS_MAIN(TestVaeGan)
#include "tst_vaegan.moc"
