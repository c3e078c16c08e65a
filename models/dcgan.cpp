#include "models/dcgan.h"

#include "models/layers.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

namespace le {

namespace {

constexpr uint64_t kEvaluateSeed = 0x5eed;
constexpr double kLeakySlope = 0.2;

[[noreturn]] void configError(const std::string& what) {
    throw ModelError("dcgan: " + what);
}

// Spatial plan shared by G (upwards) and D and E (downwards): the smallest map and the channel
// count at each resolution from the smallest up, doubling the base width per halving (capped at
// 8×, as in DCGAN).
struct Plan {
    int64_t start = 4;              // 7 for 28 px, else 4
    std::vector<int64_t> channels;  // channels[0] at start×start, then one per doubling
};

Plan plan(const DcganOptions& o) {
    Plan p;
    const int64_t size = o.shape.height;
    p.start = size == 28 ? 7 : 4;
    int64_t ups = 0;
    for (int64_t s = p.start; s < size; s *= 2) ++ups;
    for (int64_t i = 0; i < ups; ++i)
        p.channels.push_back(o.hidden * (int64_t{1} << std::min<int64_t>(ups - 1 - i, 3)));
    return p;
}

// A strided-conv trunk from the image down to channels[0]×start×start, LeakyReLU throughout.
torch::nn::Sequential downTrunk(const DcganOptions& o, const Plan& p) {
    namespace nn = torch::nn;
    nn::Sequential trunk;
    int64_t in = o.shape.channels;
    for (size_t i = p.channels.size(); i-- > 0;) {
        trunk->push_back(nn::Conv2d(nn::Conv2dOptions(in, p.channels[i], 4).stride(2).padding(1)));
        trunk->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(kLeakySlope)));
        in = p.channels[i];
    }
    return trunk;
}

// DCGAN's initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BatchNorm scales.
void dcganInit(torch::nn::Module& module) {
    torch::NoGradGuard noGrad;
    for (auto& m : module.modules(/*include_self=*/false)) {
        if (auto* conv = m->as<torch::nn::Conv2d>()) {
            conv->weight.normal_(0.0, 0.02);
            if (conv->bias.defined()) conv->bias.zero_();
        } else if (auto* convT = m->as<torch::nn::ConvTranspose2d>()) {
            convT->weight.normal_(0.0, 0.02);
            if (convT->bias.defined()) convT->bias.zero_();
        } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
            bn->weight.normal_(1.0, 0.02);
            bn->bias.zero_();
        }
    }
}

void setRequiresGrad(torch::nn::Module& module, bool on) {
    for (auto& p : module.parameters(/*recurse=*/true)) p.set_requires_grad(on);
}

// Freezes a module's parameters (no gradients) and restores each flag on scope exit.
class FreezeGuard {
public:
    explicit FreezeGuard(torch::nn::Module& module) {
        for (auto& p : module.parameters(/*recurse=*/true)) {
            m_params.push_back(p);
            m_flags.push_back(p.requires_grad());
            p.set_requires_grad(false);
        }
    }
    ~FreezeGuard() {
        for (size_t i = 0; i < m_params.size(); ++i) m_params[i].set_requires_grad(m_flags[i]);
    }
    FreezeGuard(const FreezeGuard&) = delete;
    FreezeGuard& operator=(const FreezeGuard&) = delete;

private:
    std::vector<torch::Tensor> m_params;
    std::vector<bool> m_flags;
};

}  // namespace

// ---- options ---------------------------------------------------------------------------------

DcganOptions DcganOptions::fromConfig(const ModelConfig& config) {
    DcganOptions o;
    o.shape = imageShapeFromConfig(config);
    const ImageShape& s = o.shape;
    if (s.channels != 1 && s.channels != 3)
        configError("channels must be 1 or 3, got " + std::to_string(s.channels));
    if (s.height != s.width || (s.height != 28 && s.height != 32 && s.height != 64))
        configError("images must be 28×28, 32×32 or 64×64, got " + s.toString());
    o.latent = config.getIntIn("latent", o.latent, 1, 512);
    o.hidden = config.getIntIn("hidden", o.hidden, 4, 256);
    o.recipe = o.recipe.read(config, "dcgan");
    o.beta1 = config.getDouble("beta1", o.beta1);
    if (!(o.beta1 >= 0.0 && o.beta1 < 1.0))
        configError("beta1 must be in [0, 1), got " + config.getString("beta1", ""));
    o.r1Gamma = config.getDouble("r1_gamma", o.r1Gamma);
    if (!(o.r1Gamma >= 0.0))
        configError("r1_gamma must be >= 0, got " + config.getString("r1_gamma", ""));
    o.r1Interval = config.getIntIn("r1_interval", o.r1Interval, 1, 64);
    o.encoderLr = config.getLearningRate("encoder_lr", o.encoderLr);
    return o;
}

ModelConfig DcganOptions::toConfig() const {
    ModelConfig c;
    writeImageShape(c, shape);
    c.set("latent", latent);
    c.set("hidden", hidden);
    recipe.write(c);
    c.set("beta1", beta1);
    c.set("r1_gamma", r1Gamma);
    c.set("r1_interval", r1Interval);
    c.set("encoder_lr", encoderLr);
    return c;
}

// ---- network ---------------------------------------------------------------------------------

DcganNetImpl::DcganNetImpl(const DcganOptions& o) : m_latent(o.latent) {
    namespace nn = torch::nn;
    const Plan p = plan(o);
    const size_t levels = p.channels.size();

    // G: z as a 1×1 map, projected to start×start by a full-size transposed conv, then doubled.
    // Convs followed by BatchNorm carry no bias (BatchNorm's shift replaces it).
    generator = nn::Sequential();
    generator->push_back(
        TransposedConv2d(nn::ConvTranspose2dOptions(o.latent, p.channels[0], p.start).bias(false)));
    generator->push_back(nn::BatchNorm2d(p.channels[0]));
    generator->push_back(nn::ReLU());
    for (size_t i = 0; i < levels; ++i) {
        const bool last = i + 1 == levels;
        const int64_t out = last ? o.shape.channels : p.channels[i + 1];
        generator->push_back(TransposedConv2d(
            nn::ConvTranspose2dOptions(p.channels[i], out, 4).stride(2).padding(1).bias(last)));
        if (last) {
            generator->push_back(nn::Tanh());
        } else {
            generator->push_back(nn::BatchNorm2d(out));
            generator->push_back(nn::ReLU());
        }
    }

    // D: the strided trunk, then one full-size conv to a logit.
    discriminator = downTrunk(o, p);
    discriminator->push_back(nn::Conv2d(nn::Conv2dOptions(p.channels[0], 1, p.start)));
    discriminator->push_back(nn::Flatten());

    // E: the same trunk shape with its own weights, then a linear map to z.
    encoder = downTrunk(o, p);
    encoder->push_back(nn::Flatten());
    encoder->push_back(nn::Linear(p.channels[0] * p.start * p.start, o.latent));

    register_module("generator", generator);
    register_module("discriminator", discriminator);
    register_module("encoder", encoder);
    encoderSteps = register_buffer("encoder_steps", torch::zeros({1}, torch::kLong));
    dcganInit(*generator);
    dcganInit(*discriminator);
}

torch::Tensor DcganNetImpl::generate(const torch::Tensor& z) {
    return generator->forward(z.view({z.size(0), m_latent, 1, 1}));
}

torch::Tensor DcganNetImpl::discriminate(const torch::Tensor& x) {
    return discriminator->forward(x).view({-1});
}

torch::Tensor DcganNetImpl::encodeLatent(const torch::Tensor& x) {
    return encoder->forward(x);
}

// ---- model -----------------------------------------------------------------------------------

OptimiserRecipe DcganOptions::defaultRecipe() {
    OptimiserRecipe r;
    r.lr = 2e-4;
    r.ema = 0.999;
    return r;
}

Dcgan::Dcgan(const DcganOptions& options) : FamilyModel(options, DcganNet(options)) {
    makeOptimizers();
    // The generator's parameters and its BatchNorm statistics: averaged weights beside running
    // statistics of the live ones would normalise with the wrong moments.
    std::vector<torch::Tensor> averaged = m_net->generator->parameters();
    for (const auto& b : m_net->generator->buffers())
        if (b.is_floating_point()) averaged.push_back(b);
    m_average.reset(averaged, m_options.recipe.ema);
}

void Dcgan::makeOptimizers() {
    const auto gan = torch::optim::AdamOptions(m_options.recipe.lr).betas({m_options.beta1, 0.999});
    m_gOptimizer = std::make_unique<torch::optim::Adam>(m_net->generator->parameters(), gan);
    m_dOptimizer = std::make_unique<torch::optim::Adam>(m_net->discriminator->parameters(), gan);
    m_eOptimizer = std::make_unique<torch::optim::Adam>(
        m_net->encoder->parameters(), torch::optim::AdamOptions(m_options.encoderLr));
}

Capabilities Dcgan::capabilities() const {
    Capabilities c;
    c.decode = c.sample = c.inversionByOptimisation = true;
    c.encode = encoderTrained();
    return c;
}

bool Dcgan::encoderTrained() const {
    return m_net->encoderSteps.item<int64_t>() > 0;
}

void Dcgan::setLearningRate(double lr) {
    checkLearningRate(lr);
    m_options.recipe.lr = lr;  // trainStep applies it, through the schedule
}

void Dcgan::to(torch::Device device) {
    const bool moved = device != m_device;
    GenerativeModel::to(device);
    // Adam's moment estimates live on the old device; start them afresh rather than mix devices.
    if (moved) makeOptimizers();
}

torch::Tensor Dcgan::encode(const torch::Tensor& x) {
    if (!encoderTrained())
        throw ModelError("dcgan encode: the encoder has not been trained (trainEncoderStep)");
    checkImageBatch(x, "dcgan encode");
    return m_net->encodeLatent(x.to(m_device, torch::kFloat));
}

// Always the generator's eval mode (BatchNorm's running statistics): a latent then decodes to the
// same image alone or in any batch, which dragging on the latent map relies on.
torch::Tensor Dcgan::decode(const torch::Tensor& z) {
    checkLatentBatch(z, "dcgan decode");
    ModeGuard eval(*m_net->generator, false);
    return m_net->generate(z.to(m_device, torch::kFloat));
}

torch::Tensor Dcgan::samplePrior(int64_t n, double temperature, uint64_t seed) {
    return standardNormalLatents(n, m_options.latent, temperature, seed);
}

Metrics Dcgan::trainStep(const torch::Tensor& batch) {
    checkImageBatch(batch, "dcgan trainStep");
    const torch::Tensor real = batch.to(m_device, torch::kFloat);
    const int64_t n = real.size(0);
    DcganNetImpl& net = *m_net;
    ModeGuard training(net, true);
    const double lr = m_options.recipe.learningRate(m_stepsTaken);
    setAdamLearningRate(*m_gOptimizer, lr);
    setAdamLearningRate(*m_dOptimizer, lr);

    // D step: reals towards 1, fakes towards 0 (softplus(-l) = −log σ(l)).
    setRequiresGrad(*net.discriminator, true);
    const torch::Tensor fake = net.generate(torch::randn({n, m_options.latent}, real.options()));
    const bool penalise = m_options.r1Gamma > 0.0 && m_dSteps % m_options.r1Interval == 0;
    const torch::Tensor realIn = penalise ? real.detach().requires_grad_(true) : real;
    const torch::Tensor realLogits = net.discriminate(realIn);
    const torch::Tensor fakeLogits = net.discriminate(fake.detach());
    const torch::Tensor dLoss =
        torch::softplus(-realLogits).mean() + torch::softplus(fakeLogits).mean();
    torch::Tensor dTotal = dLoss;
    if (penalise) {
        const torch::Tensor r1 = r1Penalty(realLogits, realIn);
        m_lastR1 = r1.item<double>();
        // Lazy regularisation: every r1Interval steps, weighted by the interval to match.
        dTotal = dTotal + 0.5 * m_options.r1Gamma * double(m_options.r1Interval) * r1;
    }
    m_dOptimizer->zero_grad();
    dTotal.backward();
    clippedStep(*m_dOptimizer, net.discriminator->parameters(), m_options.recipe.clip);
    ++m_dSteps;

    // G step, non-saturating: maximise log D(G(z)) rather than minimise log(1 − D(G(z))), whose
    // gradient vanishes exactly when D rejects the fakes confidently, early in training.
    setRequiresGrad(*net.discriminator, false);
    const torch::Tensor gLogits =
        net.discriminate(net.generate(torch::randn({n, m_options.latent}, real.options())));
    const torch::Tensor gLoss = torch::softplus(-gLogits).mean();
    m_gOptimizer->zero_grad();
    gLoss.backward();
    clippedStep(*m_gOptimizer, net.generator->parameters(), m_options.recipe.clip);
    m_average.update();
    ++m_stepsTaken;
    setRequiresGrad(*net.discriminator, true);

    Metrics m = readScalars({{"loss", gLoss},
                             {"g_loss", gLoss},
                             {"d_loss", dLoss},
                             {"d_real", torch::sigmoid(realLogits.detach()).mean()},
                             {"d_fake", torch::sigmoid(fakeLogits.detach()).mean()}});
    m["r1"] = m_lastR1;
    return m;
}

Metrics Dcgan::evaluate(const torch::Tensor& batch) {
    checkImageBatch(batch, "dcgan evaluate");
    torch::NoGradGuard noGrad;
    const torch::Tensor real = batch.to(m_device, torch::kFloat);
    ModeGuard eval(*m_net, false);
    const torch::Tensor z = samplePrior(real.size(0), 1.0, kEvaluateSeed);
    const torch::Tensor fake = m_net->generate(z);
    const torch::Tensor realLogits = m_net->discriminate(real);
    const torch::Tensor fakeLogits = m_net->discriminate(fake);
    Metrics m{
        {"loss", torch::softplus(-fakeLogits).mean().item<double>()},
        {"d_loss",
         (torch::softplus(-realLogits).mean() + torch::softplus(fakeLogits).mean()).item<double>()},
        {"d_real", torch::sigmoid(realLogits).mean().item<double>()},
        {"d_fake", torch::sigmoid(fakeLogits).mean().item<double>()}};
    if (encoderTrained())
        m["enc_z_mse"] = (m_net->encodeLatent(fake) - z).pow(2).mean().item<double>();
    return m;
}

Metrics Dcgan::trainEncoderStep(int64_t batchSize) {
    if (batchSize < 1)
        throw ModelError("dcgan trainEncoderStep: batch size must be >= 1, got " +
                         std::to_string(batchSize));
    DcganNetImpl& net = *m_net;
    const torch::Tensor z =
        torch::randn({batchSize, m_options.latent}, torch::dtype(torch::kFloat).device(m_device));
    torch::Tensor x;
    {
        // The pairs come from the generator as decode() shows it: eval mode, no gradients.
        torch::NoGradGuard noGrad;
        ModeGuard eval(*net.generator, false);
        x = net.generate(z);
    }
    ModeGuard training(*net.encoder, true);
    const torch::Tensor zHat = net.encodeLatent(x);
    const torch::Tensor loss = (zHat - z).pow(2).mean();
    m_eOptimizer->zero_grad();
    loss.backward();
    m_eOptimizer->step();
    double xMse = 0.0;
    {
        torch::NoGradGuard noGrad;
        ModeGuard eval(*net.generator, false);
        xMse = (net.generate(zHat.detach()) - x).pow(2).mean().item<double>();
        net.encoderSteps.add_(1);
    }
    const double zMse = loss.item<double>();
    return {{"loss", zMse}, {"z_mse", zMse}, {"x_mse", xMse}};
}

InversionResult Dcgan::invert(const torch::Tensor& target, const InversionOptions& options,
                              const InversionProgress& progress) {
    checkImageBatch(target, "dcgan invert");
    if (target.size(0) != 1)
        throw ModelError("dcgan invert: expects one target image, got " +
                         std::to_string(target.size(0)));
    if (options.steps < 1 || options.starts < 0 || !(options.learningRate > 0.0) ||
        !(options.priorWeight >= 0.0))
        throw ModelError(
            "dcgan invert: needs steps >= 1, starts >= 0, learning rate > 0 and "
            "prior weight >= 0");
    const bool fromEncoder = options.useEncoder && encoderTrained();
    if (options.starts == 0 && !fromEncoder)
        throw ModelError("dcgan invert: no starts (starts = 0 and no trained encoder)");

    // Callers often hold a NoGradGuard (the worker does); this needs gradients with respect to z.
    torch::AutoGradMode enableGrad(true);
    DcganNetImpl& net = *m_net;
    ModeGuard eval(net, false);
    FreezeGuard frozen(*net.generator);
    const torch::Tensor x = target.to(m_device, torch::kFloat);

    // Every start is one row of a single batch: eval-mode BatchNorm treats rows independently,
    // so the rows' losses (summed) give each row its own gradient.
    std::vector<torch::Tensor> initial{samplePrior(options.starts, 1.0, options.seed)};
    if (fromEncoder) {
        torch::NoGradGuard noGrad;
        initial.push_back(net.encodeLatent(x));
    }
    torch::Tensor z = torch::cat(initial, 0).detach().clone().requires_grad_(true);
    torch::optim::Adam optimizer({z}, torch::optim::AdamOptions(options.learningRate));

    double bestError = std::numeric_limits<double>::infinity();
    torch::Tensor bestZ;
    auto keepBest = [&](const torch::Tensor& mse, const torch::Tensor& rows) {
        const int64_t i = mse.argmin().item<int64_t>();
        const double e = mse[i].item<double>();
        if (e < bestError) {
            bestError = e;
            bestZ = rows[i].detach().clone().unsqueeze(0);
        }
    };

    InversionResult result;
    for (int64_t step = 0; step < options.steps; ++step) {
        const torch::Tensor mse = (net.generate(z) - x).pow(2).flatten(1).mean(1);
        keepBest(mse.detach(), z);  // the error belongs to z before this step moves it
        const torch::Tensor loss = (mse + options.priorWeight * z.pow(2).mean(1)).sum();
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        result.steps = step + 1;
        if (progress && !progress(InversionUpdate{step + 1, options.steps, bestError, bestZ})) {
            result.cancelled = true;
            break;
        }
    }

    torch::NoGradGuard noGrad;
    if (!result.cancelled) keepBest((net.generate(z) - x).pow(2).flatten(1).mean(1), z);
    result.latent = bestZ;
    result.image = net.generate(bestZ);
    result.error = bestError;
    return result;
}

void registerDcgan(ModelRegistry& registry) {
    FamilyInfo info;
    info.title = "DCGAN";
    info.kind = ModelKind::Adversarial;
    info.temperatureMeaning =
        "z = T\u00b7\u03b5: truncation \u03c8 = T, latents pulled toward the mean";
    info.latentSize = true;
    registry.add("dcgan", std::move(info),
                 [](const ModelConfig& config) -> std::unique_ptr<GenerativeModel> {
                     return std::make_unique<Dcgan>(DcganOptions::fromConfig(config));
                 });
}

}  // namespace le
