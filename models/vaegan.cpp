#include "models/vaegan.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace le {

namespace {

constexpr uint64_t kEvaluateSeed = 0x5eed;
// The likelihood's scale has its own optimiser at a fixed rate: it only follows the residuals'
// spread, and at the networks' rate it would need thousands of steps to leave its start.
constexpr double kScaleLr = 1e-2;

[[noreturn]] void configError(const std::string& what) {
    throw ModelError("vaegan: " + what);
}

double positive(const ModelConfig& config, const char* key, double fallback) {
    const double value = config.getDouble(key, fallback);
    if (!(value > 0.0 && std::isfinite(value)))
        configError(std::string(key) + " must be a finite number > 0, got " +
                    config.getString(key, ""));
    return value;
}

torch::Tensor klPerImage(const torch::Tensor& mu, const torch::Tensor& logvar) {
    return (0.5 * (mu.pow(2) + torch::exp(logvar) - 1.0 - logvar)).sum(1);
}

}  // namespace

// ---- options ---------------------------------------------------------------------------------

OptimiserRecipe VaeGanOptions::defaultRecipe() {
    OptimiserRecipe r;
    r.lr = 2e-4;
    r.ema = 0.999;
    return r;
}

VaeGanOptions VaeGanOptions::fromConfig(const ModelConfig& config) {
    VaeGanOptions o;
    o.shape = imageShapeFromConfig(config);
    if (o.shape.channels != 1 && o.shape.channels != 3)
        configError("channels must be 1 or 3, got " + std::to_string(o.shape.channels));
    if (std::min(o.shape.height, o.shape.width) < 8)
        configError("images must be at least 8×8, got " + o.shape.toString());
    o.latent = config.getIntIn("latent", o.latent, 1, 512);
    o.hidden = config.getIntIn("hidden", o.hidden, 4, 256);
    o.beta = positive(config, "beta", o.beta);
    o.gamma = positive(config, "gamma", o.gamma);
    o.beta1 = config.getDouble("beta1", o.beta1);
    if (!(o.beta1 >= 0.0 && o.beta1 < 1.0))
        configError("beta1 must be in [0, 1), got " + config.getString("beta1", ""));
    o.r1Gamma = config.getDouble("r1_gamma", o.r1Gamma);
    if (!(o.r1Gamma >= 0.0 && std::isfinite(o.r1Gamma)))
        configError("r1_gamma must be >= 0, got " + config.getString("r1_gamma", ""));
    o.r1Interval = config.getIntIn("r1_interval", o.r1Interval, 1, 64);
    o.recipe = o.recipe.read(config, "vaegan");
    return o;
}

ModelConfig VaeGanOptions::toConfig() const {
    ModelConfig c;
    writeImageShape(c, shape);
    c.set("latent", latent);
    c.set("hidden", hidden);
    c.set("beta", beta);
    c.set("gamma", gamma);
    c.set("beta1", beta1);
    c.set("r1_gamma", r1Gamma);
    c.set("r1_interval", r1Interval);
    recipe.write(c);
    return c;
}

VaeOptions VaeGanOptions::vaeOptions() const {
    VaeOptions o;
    o.shape = shape;
    o.arch = "conv";
    o.latent = latent;
    o.beta = beta;
    o.hidden = hidden;
    return o;
}

// ---- network ---------------------------------------------------------------------------------

VaeGanNetImpl::VaeGanNetImpl(const VaeGanOptions& o) {
    namespace nn = torch::nn;
    vae = register_module("vae", VaeNet(o.vaeOptions()));
    // The discriminator mirrors the VAE's encoder plan: halve while the map is larger than 8
    // pixels, at least once and at most four times.
    features = nn::Sequential();
    int64_t in = o.shape.channels, h = o.shape.height, w = o.shape.width, levels = 0;
    do {
        const int64_t out = o.hidden << std::min<int64_t>(levels, 3);
        features->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 4).stride(2).padding(1)));
        features->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
        in = out;
        h /= 2;
        w /= 2;
        ++levels;
    } while (std::min(h, w) > 8 && levels < 4);
    features->push_back(nn::Flatten());
    register_module("features", features);
    head = register_module("head", nn::Linear(in * h * w, 1));
}

std::pair<torch::Tensor, torch::Tensor> VaeGanNetImpl::discriminate(const torch::Tensor& x) {
    torch::Tensor f = features->forward(x);
    torch::Tensor logit = head->forward(f).squeeze(1);
    return {f, logit};
}

// ---- model -----------------------------------------------------------------------------------

VaeGan::VaeGan(const VaeGanOptions& options) : FamilyModel(options, VaeGanNet(options)) {
    makeOptimizers();
    std::vector<torch::Tensor> averaged;
    for (const auto& p : m_net->vae->parameters()) averaged.push_back(p);
    m_average.reset(averaged, m_options.recipe.ema);
}

void VaeGan::makeOptimizers() {
    m_encoderParams.clear();
    m_decoderParams.clear();
    m_scaleParams.clear();
    for (const auto& p : m_net->vae->named_parameters(true)) {
        const std::string& name = p.key();
        if (name == "log_scale")
            m_scaleParams.push_back(p.value());
        else if (name.rfind("decoder.", 0) == 0)
            m_decoderParams.push_back(p.value());
        else
            m_encoderParams.push_back(p.value());  // encoder, mu, logvar
    }
    const double lr = m_options.recipe.lr;
    const auto adam = [&](double rate) {
        return torch::optim::AdamOptions(rate).betas({m_options.beta1, 0.999});
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(m_encoderParams, std::make_unique<torch::optim::AdamOptions>(adam(lr)));
    groups.emplace_back(m_decoderParams, std::make_unique<torch::optim::AdamOptions>(adam(lr)));
    groups.emplace_back(m_scaleParams, std::make_unique<torch::optim::AdamOptions>(adam(kScaleLr)));
    m_vaeOptimizer = std::make_unique<torch::optim::Adam>(std::move(groups), adam(lr));
    std::vector<torch::Tensor> discriminator = m_net->features->parameters();
    for (const auto& p : m_net->head->parameters()) discriminator.push_back(p);
    m_dOptimizer = std::make_unique<torch::optim::Adam>(discriminator, adam(lr));
}

Capabilities VaeGan::capabilities() const {
    Capabilities c;
    c.encode = c.decode = c.sample = c.likelihoodBound = true;
    return c;
}

void VaeGan::setLearningRate(double lr) {
    checkLearningRate(lr);
    m_options.recipe.lr = lr;  // trainStep applies it, through the schedule
}

void VaeGan::to(torch::Device device) {
    const bool moved = device != m_device;
    GenerativeModel::to(device);
    // Adam's moment estimates live on the old device; start them afresh rather than mix devices.
    if (moved) makeOptimizers();
}

torch::Tensor VaeGan::encode(const torch::Tensor& x) {
    checkImageBatch(x, "vaegan encode");
    return m_net->vae->encode(x.to(m_device, torch::kFloat)).first;
}

torch::Tensor VaeGan::decode(const torch::Tensor& z) {
    checkLatentBatch(z, "vaegan decode");
    return m_net->vae->decode(z.to(m_device, torch::kFloat));
}

torch::Tensor VaeGan::samplePrior(int64_t n, double temperature, uint64_t seed) {
    return standardNormalLatents(n, m_options.latent, temperature, seed);
}

// Reals towards 1, reconstructions and prior samples towards 0 (softplus(-l) = −log σ(l)), with
// DCGAN's lazy R1 penalty on reals.
void VaeGan::discriminatorStep(const torch::Tensor& real, const torch::Tensor& recon,
                               const torch::Tensor& prior, Metrics& out) {
    VaeGanNetImpl& net = *m_net;
    const bool penalise = m_options.r1Gamma > 0.0 && m_dSteps % m_options.r1Interval == 0;
    const torch::Tensor realIn = penalise ? real.detach().requires_grad_(true) : real;
    const torch::Tensor realLogits = net.discriminate(realIn).second;
    const torch::Tensor fakeLogits = net.discriminate(torch::cat({recon, prior})).second;
    const int64_t n = real.size(0);
    const torch::Tensor dLoss = torch::softplus(-realLogits).mean() +
                                torch::softplus(fakeLogits.slice(0, 0, n)).mean() +
                                torch::softplus(fakeLogits.slice(0, n)).mean();
    torch::Tensor total = dLoss;
    if (penalise) {
        const torch::Tensor r1 = r1Penalty(realLogits, realIn);
        m_lastR1 = r1.item<double>();
        total = total + 0.5 * m_options.r1Gamma * double(m_options.r1Interval) * r1;
    }
    m_dOptimizer->zero_grad();
    total.backward();
    clippedStep(*m_dOptimizer, m_dOptimizer->param_groups()[0].params(), m_options.recipe.clip);
    ++m_dSteps;
    // One device-to-host copy for the step's discriminator metrics, not one sync each.
    const Metrics d = readScalars({{"d_loss", dLoss},
                                   {"d_real", torch::sigmoid(realLogits).mean()},
                                   {"d_fake", torch::sigmoid(fakeLogits).mean()}});
    for (const auto& [name, value] : d) out[name] = value;
    out["r1"] = m_lastR1;
}

Metrics VaeGan::trainStep(const torch::Tensor& batch) {
    checkImageBatch(batch, "vaegan trainStep");
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    VaeGanNetImpl& net = *m_net;
    net.train();
    const double lr = m_options.recipe.learningRate(m_stepsTaken);
    auto& groups = m_vaeOptimizer->param_groups();
    static_cast<torch::optim::AdamOptions&>(groups[0].options()).lr(lr);
    static_cast<torch::optim::AdamOptions&>(groups[1].options()).lr(lr);
    setAdamLearningRate(*m_dOptimizer, lr);

    auto [mu, logvar] = net.vae->encode(x);
    const torch::Tensor z = mu + torch::exp(0.5 * logvar) * torch::randn_like(mu);
    const torch::Tensor recon = net.vae->decode(z);
    const torch::Tensor prior = net.vae->decode(torch::randn_like(mu));

    Metrics out;
    discriminatorStep(x, recon.detach(), prior.detach(), out);
    torch::Tensor realFeatures;
    {
        torch::NoGradGuard noGrad;  // the target of the reconstruction term, after D's step
        realFeatures = net.discriminate(x).first;
    }

    // The encoder and decoder, each from its own objective (the paper's separate updates): the
    // gradients are taken with respect to each one's parameters only, so the GAN loss never
    // reaches the encoder and no gradient reaches the discriminator.
    const auto [reconFeatures, reconLogits] = net.discriminate(recon);
    const torch::Tensor priorLogits = net.discriminate(prior).second;
    const torch::Tensor llike = 0.5 * (reconFeatures - realFeatures).pow(2).sum(1).mean();
    const torch::Tensor kl = klPerImage(mu, logvar).mean();
    const torch::Tensor ganG =
        torch::softplus(-reconLogits).mean() + torch::softplus(-priorLogits).mean();
    const torch::Tensor nll = -discretizedLogisticLogProb(x, recon.detach(), net.vae->logScale())
                                   .flatten(1)
                                   .sum(1)
                                   .mean();
    const torch::Tensor encoderLoss = m_options.beta * kl + llike;
    const torch::Tensor decoderLoss = m_options.gamma * llike + ganG;
    const auto encoderGrads =
        torch::autograd::grad({encoderLoss}, m_encoderParams, {}, /*retain_graph=*/true);
    const auto decoderGrads = torch::autograd::grad({decoderLoss}, m_decoderParams);
    const auto scaleGrads = torch::autograd::grad({nll}, m_scaleParams);
    m_vaeOptimizer->zero_grad();
    const auto assign = [](std::vector<torch::Tensor>& params,
                           const std::vector<torch::Tensor>& grads) {
        for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad() = grads[i].detach();
    };
    assign(m_encoderParams, encoderGrads);
    assign(m_decoderParams, decoderGrads);
    assign(m_scaleParams, scaleGrads);
    clippedStep(*m_vaeOptimizer, net.vae->parameters(), m_options.recipe.clip);
    m_average.update();
    ++m_stepsTaken;

    const Metrics vae = readScalars({{"loss", encoderLoss},
                                     {"kl", kl},
                                     {"llike", llike},
                                     {"gan_g", ganG},
                                     {"nll", nll},
                                     {"recon_mse", (recon.detach() - x).pow(2).mean()}});
    for (const auto& [name, value] : vae) out[name] = value;
    return out;
}

Metrics VaeGan::evaluate(const torch::Tensor& batch) {
    checkImageBatch(batch, "vaegan evaluate");
    torch::NoGradGuard noGrad;
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    VaeGanNetImpl& net = *m_net;
    const bool wasTraining = net.is_training();
    net.eval();
    at::Generator gen = at::detail::createCPUGenerator(kEvaluateSeed);
    const int64_t n = x.size(0);
    const torch::Tensor noise = torch::randn({n, m_options.latent}, gen, torch::kFloat);
    const torch::Tensor priorZ = torch::randn({n, m_options.latent}, gen, torch::kFloat);
    auto [mu, logvar] = net.vae->encode(x);
    const torch::Tensor sampled =
        net.vae->decode(mu + torch::exp(0.5 * logvar) * noise.to(m_device));
    const double nll = -discretizedLogisticLogProb(x, sampled, net.vae->logScale())
                            .flatten(1)
                            .sum(1)
                            .mean()
                            .item<double>();
    const double kl = klPerImage(mu, logvar).mean().item<double>();
    const torch::Tensor recon = net.vae->decode(mu);
    const auto [realFeatures, realLogits] = net.discriminate(x);
    const auto [reconFeatures, reconLogits] = net.discriminate(recon);
    const torch::Tensor priorLogits = net.discriminate(net.vae->decode(priorZ.to(m_device))).second;
    net.train(wasTraining);
    const double dims = double(m_options.shape.numel());
    return {
        {"loss", nll + kl},
        {"nll", nll},
        {"kl", kl},
        {"bpd", (nll + kl) / (dims * std::log(2.0))},
        {"recon_mse", (recon - x).pow(2).mean().item<double>()},
        {"llike", 0.5 * (reconFeatures - realFeatures).pow(2).sum(1).mean().item<double>()},
        {"d_real", torch::sigmoid(realLogits).mean().item<double>()},
        {"d_fake", torch::sigmoid(torch::cat({reconLogits, priorLogits})).mean().item<double>()}};
}

void registerVaeGan(ModelRegistry& registry) {
    FamilyInfo info;
    info.title = "VAE-GAN";
    info.kind = ModelKind::Hybrid;
    info.temperatureMeaning = "z ~ N(0, T\u00b2\u00b7I): T scales the prior's \u03c3";
    info.boundName = "ELBO";
    info.latentSize = true;
    registry.add("vaegan", std::move(info),
                 [](const ModelConfig& config) -> std::unique_ptr<GenerativeModel> {
                     return std::make_unique<VaeGan>(VaeGanOptions::fromConfig(config));
                 });
}

}  // namespace le
