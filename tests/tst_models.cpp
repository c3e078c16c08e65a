// The model interface as the VAE implements it: registry, config validation and round trip,
// weights round trip and rejection, input checks, seeded sampling, and the likelihood's
// normalisation (which the bits-per-dimension bound relies on). Also the shared layers: the
// oneDNN transposed conv against LibTorch's own.

#include "models/generative_model.h"
#include "models/layers.h"
#include "models/training_recipe.h"
#include "models/vae.h"

#include <QtTest>

#include <torch/torch.h>
#include <torch/version.h>

#include <sstream>

using le::ModelConfig;
using le::ModelError;
using le::ModelRegistry;

namespace {

using Settings = std::map<std::string, std::string>;

ModelConfig makeConfig(const Settings& extra) {
    ModelConfig c;
    c.set("channels", int64_t{1});
    c.set("height", int64_t{28});
    c.set("width", int64_t{28});
    for (const auto& [k, v] : extra) c.set(k, v);
    return c;
}

std::unique_ptr<le::GenerativeModel> makeVae(const Settings& extra) {
    return ModelRegistry::instance().create("vae", makeConfig(extra));
}

// The message of the ModelError that f throws; a null string when it throws none.
template <class F>
QString modelErrorOf(F&& f) {
    try {
        f();
    } catch (const ModelError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

std::vector<std::pair<std::string, std::vector<int64_t>>> layout(le::GenerativeModel& m) {
    std::vector<std::pair<std::string, std::vector<int64_t>>> out;
    for (const auto& p : m.module().named_parameters(true))
        out.emplace_back(p.key(), p.value().sizes().vec());
    return out;
}

std::string weightsOf(le::GenerativeModel& m) {
    std::ostringstream out;
    m.saveWeights(out);
    return out.str();
}

torch::Tensor decodeProbe(le::GenerativeModel& m) {
    torch::NoGradGuard noGrad;
    return m.decode(m.samplePrior(3, 1.0, 42));
}

}  // namespace

class TestModels : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { torch::manual_seed(1); }

    void registryKnowsVae() {
        auto& registry = ModelRegistry::instance();
        QVERIFY(registry.has("vae"));
        auto model = makeVae({});
        QCOMPARE(QString::fromStdString(model->family()), QStringLiteral("vae"));
        const le::Capabilities caps = model->capabilities();
        QVERIFY(caps.encode && caps.decode && caps.sample && caps.likelihoodBound);
        QVERIFY(!caps.exactLikelihood && !caps.autoregressive && !caps.inversionByOptimisation);
        QCOMPARE(model->latentDim(), int64_t{16});
    }

    void unknownFamilyIsNamed() {
        const QString msg =
            modelErrorOf([] { ModelRegistry::instance().create("wavenet-xl", makeConfig({})); });
        QVERIFY2(msg.contains("wavenet-xl"), qPrintable(msg));
        QVERIFY2(msg.contains("vae"), qPrintable("should list the known families: " + msg));
    }

    void badConfigIsRejected_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("latent zero") << "latent"
                                     << "0"
                                     << "latent";
        QTest::newRow("latent above 512") << "latent"
                                          << "513"
                                          << "latent";
        QTest::newRow("latent not an integer") << "latent"
                                               << "8.5"
                                               << "latent";
        QTest::newRow("beta zero") << "beta"
                                   << "0"
                                   << "beta";
        QTest::newRow("beta negative") << "beta"
                                       << "-0.5"
                                       << "beta";
        QTest::newRow("beta not a number") << "beta"
                                           << "strong"
                                           << "beta";
        QTest::newRow("beta infinite") << "beta"
                                       << "inf"
                                       << "beta";
        QTest::newRow("unknown arch") << "arch"
                                      << "resnet"
                                      << "resnet";
        QTest::newRow("hidden too small") << "hidden"
                                          << "2"
                                          << "hidden";
        QTest::newRow("conv hidden too large") << "hidden"
                                               << "1024"
                                               << "hidden";
        QTest::newRow("lr zero") << "lr"
                                 << "0"
                                 << "lr";
        QTest::newRow("two channels") << "channels"
                                      << "2"
                                      << "channels";
        QTest::newRow("image smaller than 8") << "height"
                                              << "4"
                                              << "4x";
        QTest::newRow("lr_floor above 1") << "lr_floor"
                                          << "1.5"
                                          << "lr_floor";
        QTest::newRow("ema of 1") << "ema"
                                  << "1"
                                  << "ema";
        QTest::newRow("negative clip") << "clip"
                                       << "-1"
                                       << "clip";
        QTest::newRow("negative cosine") << "cosine"
                                         << "-5"
                                         << "cosine";
    }
    void badConfigIsRejected() {
        QFETCH(QString, key);
        QFETCH(QString, value);
        QFETCH(QString, mentions);
        const QString msg = modelErrorOf([&] {
            makeVae({{key.toStdString(), value.toStdString()}});
        });
        QVERIFY2(!msg.isNull(), "no ModelError thrown");
        QVERIFY2(msg.contains(mentions), qPrintable(msg));
    }

    void architectures_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<int>("channels");
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("latent");
        QTest::newRow("conv gray 28") << "conv" << 1 << 28 << 16;
        QTest::newRow("conv rgb 32") << "conv" << 3 << 32 << 32;
        QTest::newRow("conv rgb 64") << "conv" << 3 << 64 << 64;
        QTest::newRow("conv gray 30 (odd after one halving)") << "conv" << 1 << 30 << 8;
        QTest::newRow("conv gray 8 (smallest)") << "conv" << 1 << 8 << 2;
        QTest::newRow("mlp gray 28") << "mlp" << 1 << 28 << 20;
        QTest::newRow("mlp rgb 32") << "mlp" << 3 << 32 << 1;
    }
    void architectures() {
        QFETCH(QString, arch);
        QFETCH(int, channels);
        QFETCH(int, size);
        QFETCH(int, latent);
        auto model = makeVae({{"arch", arch.toStdString()},
                              {"channels", std::to_string(channels)},
                              {"height", std::to_string(size)},
                              {"width", std::to_string(size)},
                              {"latent", std::to_string(latent)}});
        QCOMPARE(model->latentDim(), int64_t{latent});
        const auto x = torch::rand({5, channels, size, size}) * 2 - 1;
        {
            torch::NoGradGuard noGrad;
            const auto z = model->encode(x);
            QCOMPARE(z.sizes().vec(), (std::vector<int64_t>{5, latent}));
            const auto y = model->decode(z);
            QCOMPARE(y.sizes(), x.sizes());
            QVERIFY(y.abs().max().item<float>() <= 1.0f);
            QCOMPARE(model->sample(2, 1.0, 3).sizes().vec(),
                     (std::vector<int64_t>{2, channels, size, size}));
        }
        const le::Metrics m = model->trainStep(x);
        for (const char* key : {"loss", "kl", "recon_mse"}) {
            QVERIFY2(m.count(key), key);
            QVERIFY2(std::isfinite(m.at(key)), key);
        }
        const le::Metrics e = model->evaluate(x);
        QVERIFY(e.count("bpd"));
        // Uniform noise costs about 8 bits per dimension; an untrained bound is worse, not absurd.
        QVERIFY2(e.at("bpd") > 1.0 && e.at("bpd") < 40.0, qPrintable(QString::number(e.at("bpd"))));
    }

    void configRoundTrip_data() { architectures_data(); }
    void configRoundTrip() {
        QFETCH(QString, arch);
        QFETCH(int, channels);
        QFETCH(int, size);
        QFETCH(int, latent);
        auto original = makeVae({{"arch", arch.toStdString()},
                                 {"channels", std::to_string(channels)},
                                 {"height", std::to_string(size)},
                                 {"width", std::to_string(size)},
                                 {"latent", std::to_string(latent)},
                                 {"beta", "0.25"}});
        const ModelConfig saved = original->config();
        for (const char* key : {"channels", "height", "width", "arch", "latent", "beta", "hidden"})
            QVERIFY2(saved.has(key), key);
        auto rebuilt = ModelRegistry::instance().create("vae", saved);
        QVERIFY(rebuilt->imageShape() == original->imageShape());
        QCOMPARE(rebuilt->config().values(), saved.values());
        QVERIFY(layout(*rebuilt) == layout(*original));
        QCOMPARE(saved.getDouble("beta", 0), 0.25);
    }

    void weightsRoundTrip() {
        auto a = makeVae({});
        a->trainStep(torch::rand({8, 1, 28, 28}) * 2 - 1);  // so that log_scale moves too
        auto b = makeVae({});
        QVERIFY(!torch::equal(decodeProbe(*a), decodeProbe(*b)));
        std::istringstream in(weightsOf(*a));
        b->loadWeights(in);
        QVERIFY(torch::equal(decodeProbe(*a), decodeProbe(*b)));
        const auto x = torch::rand({4, 1, 28, 28}) * 2 - 1;
        QCOMPARE(b->evaluate(x).at("loss"), a->evaluate(x).at("loss"));
    }

    void foreignWeightsAreRejected_data() {
        QTest::addColumn<QString>("sourceArch");
        QTest::addColumn<int>("sourceLatent");
        QTest::addColumn<QString>("mentions");
        // mlp has no encoder.0 weights (its first layer is Flatten), so the conv finds it missing.
        QTest::newRow("mlp weights into conv") << "mlp" << 16 << "encoder.0.weight";
        QTest::newRow("latent 8 into latent 16") << "conv" << 8 << "mu.weight";
    }
    void foreignWeightsAreRejected() {
        QFETCH(QString, sourceArch);
        QFETCH(int, sourceLatent);
        QFETCH(QString, mentions);
        auto source =
            makeVae({{"arch", sourceArch.toStdString()}, {"latent", std::to_string(sourceLatent)}});
        auto target = makeVae({});
        const std::string before = weightsOf(*target);
        const torch::Tensor decodedBefore = decodeProbe(*target);
        std::istringstream in(weightsOf(*source));
        const QString msg = modelErrorOf([&] { target->loadWeights(in); });
        QVERIFY2(!msg.isNull(), "no ModelError thrown");
        QVERIFY2(msg.contains(mentions), qPrintable(msg));
        QVERIFY2(weightsOf(*target) == before, "a rejected load changed the model");
        QVERIFY(torch::equal(decodeProbe(*target), decodedBefore));
    }

    void garbageWeightsAreRejected() {
        auto model = makeVae({});
        const std::string before = weightsOf(*model);
        std::istringstream in("definitely not a zip archive");
        const QString msg = modelErrorOf([&] { model->loadWeights(in); });
        QVERIFY2(!msg.isNull(), "no ModelError thrown");
        QVERIFY(weightsOf(*model) == before);
    }

    void wrongInputsAreRejected_data() {
        QTest::addColumn<QString>("call");
        QTest::addColumn<QVector<qint64>>("shape");
        QTest::newRow("train on three channels") << "train" << QVector<qint64>{2, 3, 28, 28};
        QTest::newRow("train on 32x32") << "train" << QVector<qint64>{2, 1, 32, 32};
        QTest::newRow("evaluate on 28x27") << "evaluate" << QVector<qint64>{2, 1, 28, 27};
        QTest::newRow("encode a single image without batch")
            << "encode" << QVector<qint64>{1, 28, 28};
        QTest::newRow("encode an undefined tensor") << "encode" << QVector<qint64>{};
        QTest::newRow("decode a latent of size 8") << "decode" << QVector<qint64>{1, 8};
        QTest::newRow("decode a flat latent") << "decode" << QVector<qint64>{16};
    }
    void wrongInputsAreRejected() {
        QFETCH(QString, call);
        QFETCH(QVector<qint64>, shape);
        auto model = makeVae({});
        const torch::Tensor x =
            shape.isEmpty() ? torch::Tensor()
                            : torch::zeros(std::vector<int64_t>(shape.begin(), shape.end()));
        const QString msg = modelErrorOf([&] {
            if (call == "train") model->trainStep(x);
            if (call == "evaluate") model->evaluate(x);
            if (call == "encode") model->encode(x);
            if (call == "decode") model->decode(x);
        });
        QVERIFY2(!msg.isNull(), "no ModelError thrown");
        // The message states what was expected, so a user can fix the input.
        QVERIFY2(msg.contains(call == "decode" ? "16" : "28"), qPrintable(msg));
    }

    void samplingIsSeeded() {
        auto model = makeVae({});
        torch::NoGradGuard noGrad;
        QVERIFY(torch::equal(model->sample(4, 1.0, 7), model->sample(4, 1.0, 7)));
        QVERIFY(!torch::equal(model->sample(4, 1.0, 7), model->sample(4, 1.0, 8)));
        QVERIFY(torch::equal(model->samplePrior(3, 1.0, 11), model->samplePrior(3, 1.0, 11)));
        // The global generator plays no part.
        const auto first = model->samplePrior(3, 1.0, 11);
        torch::manual_seed(999);
        QVERIFY(torch::equal(model->samplePrior(3, 1.0, 11), first));
    }

    void temperatureScalesThePrior() {
        auto model = makeVae({});
        QVERIFY(!modelErrorOf([&] { model->samplePrior(5, 0.0, 1); }).isNull());
        const double spread = model->samplePrior(2000, 2.0, 1).std().item<double>();
        QVERIFY2(std::abs(spread - 2.0) < 0.05, qPrintable(QString::number(spread)));
        QVERIFY(!modelErrorOf([&] { model->samplePrior(1, -1.0, 1); }).isNull());
        QVERIFY(!modelErrorOf([&] { model->samplePrior(-1, 1.0, 1); }).isNull());
    }

    void evaluateIsRepeatableAndLeavesWeights() {
        auto model = makeVae({});
        const auto x = torch::rand({6, 1, 28, 28}) * 2 - 1;
        const std::string before = weightsOf(*model);
        const le::Metrics a = model->evaluate(x), b = model->evaluate(x);
        QCOMPARE(a.at("loss"), b.at("loss"));
        QCOMPARE(a.at("bpd"), b.at("bpd"));
        QVERIFY(weightsOf(*model) == before);
    }

    void learningRateIsValidated() {
        auto model = makeVae({});
        model->setLearningRate(3e-4);
        QCOMPARE(model->config().getDouble("lr", 0), 3e-4);
        QVERIFY(!modelErrorOf([&] { model->setLearningRate(0.0); }).isNull());
        QVERIFY(!modelErrorOf([&] { model->setLearningRate(-1.0); }).isNull());
    }

    // The bound in bits per dimension is honest only if the 256 bins carry probability one.
    void likelihoodIsNormalised_data() {
        QTest::addColumn<double>("mean");
        QTest::addColumn<double>("logScale");
        QTest::newRow("centred, wide") << 0.0 << 0.0;
        QTest::newRow("centred, one bin wide") << 0.0 << -5.5;
        QTest::newRow("narrower than a bin (clamp floor)") << 0.3 << -7.0;
        QTest::newRow("mean beyond the low edge") << -1.2 << -2.0;
        QTest::newRow("mean near the high edge") << 0.995 << -3.0;
    }
    void likelihoodIsNormalised() {
        QFETCH(double, mean);
        QFETCH(double, logScale);
        const auto x = torch::arange(256, torch::kDouble) / 127.5 - 1.0;
        const auto logp =
            le::discretizedLogisticLogProb(x, torch::full({256}, mean, torch::kDouble),
                                           torch::full({1}, logScale, torch::kDouble));
        const double total = logp.exp().sum().item<double>();
        QVERIFY2(std::abs(total - 1.0) < 2e-3, qPrintable(QString::number(total, 'g', 10)));
        QVERIFY(logp.le(0).all().item<bool>());
    }

    // The oneDNN path gives LibTorch's transposed conv's output and all three gradients.
    void transposedConvMatchesLibTorch_data() {
        QTest::addColumn<int>("inChannels");
        QTest::addColumn<int>("outChannels");
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("kernel");
        QTest::addColumn<int>("stride");
        QTest::addColumn<int>("padding");
        QTest::addColumn<int>("outputPadding");
        QTest::addColumn<bool>("bias");
        QTest::newRow("vq-vae 7->14") << 64 << 64 << 7 << 4 << 2 << 1 << 0 << true;
        QTest::newRow("to one channel") << 16 << 1 << 14 << 4 << 2 << 1 << 0 << true;
        QTest::newRow("output padding") << 8 << 12 << 3 << 4 << 2 << 1 << 1 << true;
        QTest::newRow("dcgan projection, no bias") << 10 << 16 << 1 << 7 << 1 << 0 << 0 << false;
        QTest::newRow("stride 3, odd kernel") << 5 << 9 << 6 << 3 << 3 << 2 << 2 << true;
    }
    void transposedConvMatchesLibTorch() {
        QFETCH(int, inChannels);
        QFETCH(int, outChannels);
        QFETCH(int, size);
        QFETCH(int, kernel);
        QFETCH(int, stride);
        QFETCH(int, padding);
        QFETCH(int, outputPadding);
        QFETCH(bool, bias);
        const auto x = torch::randn({3, inChannels, size, size + 1}).requires_grad_();
        const auto w = torch::randn({inChannels, outChannels, kernel, kernel}).requires_grad_();
        const auto b = bias ? torch::randn({outChannels}).requires_grad_() : torch::Tensor();
        const auto reference = torch::conv_transpose2d(x, w, b, stride, padding, outputPadding);
        const auto ours = le::convTranspose2dOneDnn(x, w, b, {stride, stride}, {padding, padding},
                                                    {outputPadding, outputPadding});
        QCOMPARE(ours.sizes().vec(), reference.sizes().vec());
        QVERIFY(torch::allclose(ours, reference, 1e-4, 1e-4));
        const auto g = torch::randn_like(reference);
        std::vector<torch::Tensor> inputs{x, w};
        if (bias) inputs.push_back(b);
        const auto expected = torch::autograd::grad({reference}, inputs, {g});
        const auto got = torch::autograd::grad({ours}, inputs, {g});
        for (size_t i = 0; i < inputs.size(); ++i)
            QVERIFY2(torch::allclose(got[i], expected[i], 1e-4, 1e-3),
                     qPrintable(QString("gradient %1 differs by %2")
                                    .arg(i)
                                    .arg((got[i] - expected[i]).abs().max().item<double>())));
    }

    // A drop-in for torch::nn::ConvTranspose2d: same names, same initialisation, same results,
    // with LibTorch's path kept where oneDNN is slower or does not apply.
    void transposedConvModuleIsADropIn() {
        namespace nn = torch::nn;
        const auto options = nn::ConvTranspose2dOptions(32, 16, 4).stride(2).padding(1);
        torch::manual_seed(7);
        nn::ConvTranspose2d plain(options);
        torch::manual_seed(7);
        le::TransposedConv2d ours(options);
        const auto plainParams = plain->named_parameters();
        const auto ourParams = ours->named_parameters();
        QCOMPARE(ourParams.keys(), plainParams.keys());
        for (const auto& p : plainParams) QVERIFY(torch::equal(ourParams[p.key()], p.value()));
        const auto x = torch::randn({4, 32, 7, 7});
        QVERIFY(torch::allclose(ours->forward(x), plain->forward(x), 1e-4, 1e-4));
        {
            torch::NoGradGuard noGrad;
            QVERIFY(torch::allclose(ours->forward(x), plain->forward(x), 1e-4, 1e-4));
        }
#if TORCH_VERSION_MAJOR < 2
        if (at::hasMKLDNN()) QVERIFY(ours->usesOneDnn(x));
#endif
        QVERIFY(!ours->usesOneDnn(x.to(torch::kDouble)));
        le::TransposedConv2d narrow(nn::ConvTranspose2dOptions(32, 1, 4).stride(2).padding(1));
        QVERIFY(!narrow->usesOneDnn(x));
        QVERIFY(ours->as<nn::ConvTranspose2d>() != nullptr);  // DCGAN's initialisation finds it
    }

    // The PixelCNN's fused training gate: the plain formula's values and gradient.
    void gatedTanhSigmoidMatchesThePlainGate() {
        const auto pre = (torch::randn({4, 6, 5, 7}) * 3).requires_grad_();
        const auto halves = pre.chunk(2, 1);
        const auto plain = torch::tanh(halves[0]) * torch::sigmoid(halves[1]);
        const auto fused = le::gatedTanhSigmoid(pre);
        QCOMPARE(fused.sizes().vec(), (std::vector<int64_t>{4, 3, 5, 7}));
        QVERIFY(torch::allclose(fused, plain, 1e-5, 1e-6));
        const auto g = torch::randn_like(plain);
        const auto expected = torch::autograd::grad({plain}, {pre}, {g})[0];
        const auto got = torch::autograd::grad({fused}, {pre}, {g})[0];
        QVERIFY2(torch::allclose(got, expected, 1e-4, 1e-5),
                 qPrintable(QString::number((got - expected).abs().max().item<double>())));
    }

    // Linear warm-up to the peak, a half cosine down to the floor, then the floor.
    void learningRateSchedule() {
        le::OptimiserRecipe r;
        r.lr = 1e-3;
        r.warmup = 10;
        r.cosine = 100;
        r.lrFloor = 0.1;
        QCOMPARE(r.learningRate(0), 1e-4);
        QCOMPARE(r.learningRate(4), 5e-4);
        QCOMPARE(r.learningRate(10), 1e-3);
        QVERIFY(qAbs(r.learningRate(60) - 0.55e-3) < 1e-12);  // half way down
        QVERIFY(qAbs(r.learningRate(110) - 1e-4) < 1e-12);
        QVERIFY(qAbs(r.learningRate(5000) - 1e-4) < 1e-12);
        for (int64_t step = 11; step < 110; ++step)
            QVERIFY(r.learningRate(step) < r.learningRate(step - 1));
        r.cosine = 0;
        QCOMPARE(r.learningRate(5000), 1e-3);
        // The keys round-trip through a config, prefixed or not.
        ModelConfig c;
        r.write(c, "prior_");
        const le::OptimiserRecipe back = le::OptimiserRecipe().read(c, "test", "prior_");
        QCOMPARE(back.lr, r.lr);
        QCOMPARE(back.warmup, r.warmup);
        QCOMPARE(back.lrFloor, r.lrFloor);
        QCOMPARE(le::OptimiserRecipe().read(c, "test").warmup, int64_t{0});
    }

    // The average is the ramped exponential moving average, swaps exchange exactly, and
    // adopting it makes it the live weights.
    void weightAverageFollowsTheWeights() {
        torch::Tensor w = torch::zeros({3});
        le::WeightAverage average;
        average.reset({w}, 0.5);
        QVERIFY(average.enabled());
        QVERIFY(!average.started());
        average.update();  // the shadow starts as a copy: 0
        w.fill_(1.0);
        average.update();  // d = min(0.5, 2/11): 0·d + 1·(1 − d)
        const double d = 2.0 / 11.0;
        average.swap();
        QVERIFY(average.swapped());
        QVERIFY(torch::allclose(w, torch::full({3}, 1.0 - d)));
        average.swap();
        QVERIFY(torch::equal(w, torch::ones({3})));
        QVERIFY(average.adopt());
        QVERIFY(torch::allclose(w, torch::full({3}, 1.0 - d)));
        QVERIFY(!average.started());
        // An average that went non-finite is dropped, the live weights kept.
        average.update();
        w.fill_(std::nan(""));
        average.update();
        w.fill_(2.0);
        QVERIFY(!average.adopt());
        QVERIFY(torch::equal(w, torch::full({3}, 2.0)));
    }

    // A gradient that is not finite is not stepped on; a finite one is clipped.
    void clippedStepSkipsNonFiniteGradients() {
        torch::Tensor w = torch::ones({4}, torch::requires_grad());
        torch::optim::SGD sgd({w}, torch::optim::SGDOptions(1.0));
        (w * std::numeric_limits<double>::infinity()).sum().backward();
        QVERIFY(!std::isfinite(le::clippedStep(sgd, {w}, 1.0)));
        QVERIFY(torch::equal(w.detach(), torch::ones({4})));
        sgd.zero_grad();
        (w * 10.0).sum().backward();  // gradient norm 20
        QCOMPARE(le::clippedStep(sgd, {w}, 1.0), 20.0);
        QVERIFY(torch::allclose(w.detach(), torch::full({4}, 0.5)));  // stepped by a unit norm
    }

    void cudaSamplesMatchCpu() {
        if (!torch::cuda::is_available()) QSKIP("this LibTorch has no CUDA device");
        auto model = makeVae({});
        std::istringstream in(weightsOf(*model));
        auto onGpu = ModelRegistry::instance().create("vae", model->config(), torch::kCUDA);
        onGpu->loadWeights(in);
        torch::NoGradGuard noGrad;
        QVERIFY(torch::equal(onGpu->samplePrior(4, 1.0, 5).cpu(), model->samplePrior(4, 1.0, 5)));
        QVERIFY(
            torch::allclose(onGpu->sample(4, 1.0, 5).cpu(), model->sample(4, 1.0, 5), 1e-4, 1e-4));
    }
};

QTEST_GUILESS_MAIN(TestModels)
#include "tst_models.moc"
