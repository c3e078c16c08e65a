#include "models/vae.h"

#include "models/layers.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace le {

namespace {

constexpr int64_t kMlpDefaultHidden = 400;
constexpr int64_t kConvDefaultHidden = 32;
// The log-scale learns ten times faster than the network: it only has to find the residuals'
// spread, and at the network's rate it would need thousands of steps to leave its start.
constexpr double kLogScaleLrFactor = 10.0;
constexpr double kInitialLogScale = -1.0;
// exp(-7) ≈ 1e-3 is a quarter of a bin; below that the likelihood cannot improve, only overflow.
constexpr double kMinLogScale = -7.0;
constexpr double kMaxLogScale = 2.0;
constexpr uint64_t kEvaluateSeed = 0x5eed;

[[noreturn]] void configError(const std::string& what) {
    throw ModelError("vae: " + what);
}

// Down-sampling plan of the conv arch: halve (k4 s2 p1 gives floor(n/2)) while the map is larger
// than 8 pixels, at least once and at most four times: 28→14→7, 32→16→8, 64→32→16→8.
struct ConvPlan {
    std::vector<int64_t> channels;         // after each down-sampling conv
    std::vector<int64_t> heights, widths;  // before each down-sampling conv, then the last
};

ConvPlan convPlan(const VaeOptions& o) {
    ConvPlan plan;
    int64_t h = o.shape.height, w = o.shape.width;
    const int64_t base = o.resolvedHidden();
    do {
        plan.heights.push_back(h);
        plan.widths.push_back(w);
        plan.channels.push_back(base << std::min<int64_t>(plan.channels.size(), 3));
        h /= 2;
        w /= 2;
    } while (std::min(h, w) > 8 && plan.channels.size() < 4);
    plan.heights.push_back(h);
    plan.widths.push_back(w);
    return plan;
}

}  // namespace

// ---- options ---------------------------------------------------------------------------------

int64_t VaeOptions::resolvedHidden() const {
    if (hidden > 0) return hidden;
    return arch == "mlp" ? kMlpDefaultHidden : kConvDefaultHidden;
}

VaeOptions VaeOptions::fromConfig(const ModelConfig& config) {
    VaeOptions o;
    o.shape = imageShapeFromConfig(config);
    o.arch = config.getString("arch", o.arch);
    if (o.arch != "conv" && o.arch != "mlp")
        configError("unknown arch '" + o.arch + "' (use conv or mlp)");
    o.latent = config.getIntIn("latent", o.latent, 1, 512);
    o.beta = config.getDouble("beta", o.beta);
    if (!(o.beta > 0.0)) configError("beta must be > 0, got " + config.getString("beta", ""));
    o.hidden = config.getInt("hidden", 0);
    const int64_t maxHidden = o.arch == "mlp" ? 4096 : 256;
    if (o.hidden < 0 || (o.hidden > 0 && (o.hidden < 4 || o.hidden > maxHidden)))
        configError("hidden must be in 4.." + std::to_string(maxHidden) + " for arch " + o.arch +
                    " (or 0 for the default), got " + std::to_string(o.hidden));
    o.hidden = o.resolvedHidden();
    o.recipe = o.recipe.read(config, "vae");
    return o;
}

ModelConfig VaeOptions::toConfig() const {
    ModelConfig c;
    writeImageShape(c, shape);
    c.set("arch", arch);
    c.set("latent", latent);
    c.set("beta", beta);
    c.set("hidden", resolvedHidden());
    recipe.write(c);
    return c;
}

// ---- network ---------------------------------------------------------------------------------

VaeNetImpl::VaeNetImpl(const VaeOptions& o) {
    namespace nn = torch::nn;
    const ImageShape& s = o.shape;
    const auto leaky = nn::LeakyReLUOptions().negative_slope(0.2);
    int64_t features = 0;
    m_encoder = nn::Sequential();
    m_decoder = nn::Sequential();
    if (o.arch == "mlp") {
        features = o.resolvedHidden();
        m_encoder->push_back(nn::Flatten());
        m_encoder->push_back(nn::Linear(s.numel(), features));
        m_encoder->push_back(nn::ReLU());
        m_decoder->push_back(nn::Linear(o.latent, features));
        m_decoder->push_back(nn::ReLU());
        m_decoder->push_back(nn::Linear(features, s.numel()));
        m_decoder->push_back(
            nn::Unflatten(nn::UnflattenOptions(1, {s.channels, s.height, s.width})));
    } else {
        const ConvPlan plan = convPlan(o);
        const size_t levels = plan.channels.size();
        int64_t in = s.channels;
        for (size_t i = 0; i < levels; ++i) {
            m_encoder->push_back(
                nn::Conv2d(nn::Conv2dOptions(in, plan.channels[i], 4).stride(2).padding(1)));
            m_encoder->push_back(nn::LeakyReLU(leaky));
            in = plan.channels[i];
        }
        m_encoder->push_back(nn::Flatten());
        const int64_t top = plan.channels.back();
        features = top * plan.heights.back() * plan.widths.back();
        m_decoder->push_back(nn::Linear(o.latent, features));
        m_decoder->push_back(nn::LeakyReLU(leaky));
        m_decoder->push_back(
            nn::Unflatten(nn::UnflattenOptions(1, {top, plan.heights.back(), plan.widths.back()})));
        // Mirror the encoder; output_padding restores the pixel that floor(n/2) dropped.
        for (size_t i = levels; i-- > 0;) {
            const int64_t out = i == 0 ? s.channels : plan.channels[i - 1];
            const int64_t padH = plan.heights[i] - 2 * plan.heights[i + 1];
            const int64_t padW = plan.widths[i] - 2 * plan.widths[i + 1];
            m_decoder->push_back(
                TransposedConv2d(nn::ConvTranspose2dOptions(plan.channels[i], out, 4)
                                     .stride(2)
                                     .padding(1)
                                     .output_padding({padH, padW})));
            if (i != 0) m_decoder->push_back(nn::LeakyReLU(leaky));
        }
    }
    m_decoder->push_back(nn::Tanh());
    m_mu = nn::Linear(features, o.latent);
    m_logvar = nn::Linear(features, o.latent);
    register_module("encoder", m_encoder);
    register_module("mu", m_mu);
    register_module("logvar", m_logvar);
    register_module("decoder", m_decoder);
    m_logScale = register_parameter("log_scale", torch::full({1}, kInitialLogScale));
}

std::pair<torch::Tensor, torch::Tensor> VaeNetImpl::encode(const torch::Tensor& x) {
    const torch::Tensor h = m_encoder->forward(x);
    // Clamped so that exp(logvar) neither overflows nor underflows on a wild step.
    return {m_mu->forward(h), m_logvar->forward(h).clamp(-30.0, 20.0)};
}

torch::Tensor VaeNetImpl::decode(const torch::Tensor& z) {
    return m_decoder->forward(z);
}

torch::Tensor VaeNetImpl::logScale() const {
    return m_logScale.clamp(kMinLogScale, kMaxLogScale);
}

// The bins of 8-bit data on the [-1, 1] scale are 2/255 wide, centred on k/127.5 - 1. The
// stable form follows PixelCNN++ (Salimans et al. 2017): log-sigmoids at the edge bins, and the
// density times the bin width where the CDF difference would lose all precision.
torch::Tensor discretizedLogisticLogProb(const torch::Tensor& x, const torch::Tensor& mean,
                                         const torch::Tensor& logScale) {
    constexpr double kHalfBin = 1.0 / 255.0;
    const torch::Tensor centered = x - mean;
    const torch::Tensor invScale = torch::exp(-logScale);
    const torch::Tensor plusIn = invScale * (centered + kHalfBin);
    const torch::Tensor minIn = invScale * (centered - kHalfBin);
    const torch::Tensor logCdfPlus = plusIn - torch::softplus(plusIn);  // bin 0: (-inf, upper]
    const torch::Tensor logOneMinusCdfMin = -torch::softplus(minIn);    // bin 255: [lower, inf)
    const torch::Tensor cdfDelta = torch::sigmoid(plusIn) - torch::sigmoid(minIn);
    const torch::Tensor midIn = invScale * centered;
    const torch::Tensor logPdfMid = midIn - logScale - 2.0 * torch::softplus(midIn);
    const torch::Tensor interior = torch::where(
        cdfDelta > 1e-5, torch::log(cdfDelta.clamp_min(1e-12)), logPdfMid - std::log(127.5));
    return torch::where(x < -0.999, logCdfPlus,
                        torch::where(x > 0.999, logOneMinusCdfMin, interior));
}

// ---- model -----------------------------------------------------------------------------------

Vae::Vae(const VaeOptions& options) : FamilyModel(options, VaeNet(options)) {
    m_options.hidden = options.resolvedHidden();
    makeOptimizer();
    m_average.reset(m_net->parameters(), m_options.recipe.ema);
}

void Vae::makeOptimizer() {
    std::vector<torch::Tensor> network, scale;
    for (const auto& p : m_net->named_parameters(true))
        (p.key() == "log_scale" ? scale : network).push_back(p.value());
    std::vector<torch::optim::OptimizerParamGroup> groups;
    const double lr = m_options.recipe.lr;
    groups.emplace_back(network, std::make_unique<torch::optim::AdamOptions>(lr));
    groups.emplace_back(scale, std::make_unique<torch::optim::AdamOptions>(lr * kLogScaleLrFactor));
    m_optimizer =
        std::make_unique<torch::optim::Adam>(std::move(groups), torch::optim::AdamOptions(lr));
}

void Vae::applyLearningRate(double lr) {
    auto& groups = m_optimizer->param_groups();
    static_cast<torch::optim::AdamOptions&>(groups[0].options()).lr(lr);
    static_cast<torch::optim::AdamOptions&>(groups[1].options()).lr(lr * kLogScaleLrFactor);
}

Capabilities Vae::capabilities() const {
    Capabilities c;
    c.encode = c.decode = c.sample = c.likelihoodBound = true;
    return c;
}

void Vae::setLearningRate(double lr) {
    checkLearningRate(lr);
    m_options.recipe.lr = lr;  // trainStep applies it, through the schedule
}

void Vae::to(torch::Device device) {
    const bool moved = device != m_device;
    GenerativeModel::to(device);
    // Adam's moment estimates live on the old device; start them afresh rather than mix devices.
    if (moved) makeOptimizer();
}

torch::Tensor Vae::encode(const torch::Tensor& x) {
    checkImageBatch(x, "vae encode");
    return m_net->encode(x.to(m_device, torch::kFloat)).first;
}

torch::Tensor Vae::decode(const torch::Tensor& z) {
    checkLatentBatch(z, "vae decode");
    return m_net->decode(z.to(m_device, torch::kFloat));
}

torch::Tensor Vae::samplePrior(int64_t n, double temperature, uint64_t seed) {
    return standardNormalLatents(n, m_options.latent, temperature, seed);
}

Vae::Terms Vae::terms(const torch::Tensor& x, const torch::Tensor& noise) {
    auto [mu, logvar] = m_net->encode(x);
    const torch::Tensor z = mu + torch::exp(0.5 * logvar) * noise;
    const torch::Tensor mean = m_net->decode(z);
    const torch::Tensor logp = discretizedLogisticLogProb(x, mean, m_net->logScale());
    Terms t;
    t.nll = -logp.flatten(1).sum(1).mean();
    t.kl = (0.5 * (mu.pow(2) + torch::exp(logvar) - 1.0 - logvar)).sum(1).mean();
    t.mse = (mean - x).pow(2).mean();
    return t;
}

Metrics Vae::trainStep(const torch::Tensor& batch) {
    checkImageBatch(batch, "vae trainStep");
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    m_net->train();
    applyLearningRate(m_options.recipe.learningRate(m_stepsTaken));
    const Terms t = terms(x, torch::randn({x.size(0), m_options.latent}, x.options()));
    const torch::Tensor loss = t.nll + m_options.beta * t.kl;
    m_optimizer->zero_grad();
    loss.backward();
    clippedStep(*m_optimizer, m_net->parameters(), m_options.recipe.clip);
    m_average.update();
    ++m_stepsTaken;
    return readScalars({{"loss", loss},
                        {"nll", t.nll},
                        {"kl", t.kl},
                        {"recon_mse", t.mse},
                        {"scale", m_net->logScale().exp()}});
}

Metrics Vae::evaluate(const torch::Tensor& batch) {
    checkImageBatch(batch, "vae evaluate");
    torch::NoGradGuard noGrad;
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    const bool wasTraining = m_net->is_training();
    m_net->eval();
    at::Generator gen = at::detail::createCPUGenerator(kEvaluateSeed);
    const torch::Tensor noise =
        torch::randn({x.size(0), m_options.latent}, gen, torch::kFloat).to(m_device);
    const Terms t = terms(x, noise);
    const double meanMse = (m_net->decode(m_net->encode(x).first) - x).pow(2).mean().item<double>();
    m_net->train(wasTraining);
    const double nll = t.nll.item<double>(), kl = t.kl.item<double>();
    const double dims = static_cast<double>(m_options.shape.numel());
    return {{"loss", nll + m_options.beta * kl},
            {"nll", nll},
            {"kl", kl},
            {"recon_mse", meanMse},
            {"bpd", (nll + kl) / (dims * std::log(2.0))},
            {"scale", std::exp(m_net->logScale().item<double>())}};
}

void registerVae(ModelRegistry& registry) {
    FamilyInfo info;
    info.title = "VAE";
    info.kind = ModelKind::VariationalAutoencoder;
    info.temperatureMeaning = "z ~ N(0, T\u00b2\u00b7I): T scales the prior's \u03c3";
    info.boundName = "ELBO";
    info.latentSize = true;
    registry.add("vae", std::move(info),
                 [](const ModelConfig& config) -> std::unique_ptr<GenerativeModel> {
                     return std::make_unique<Vae>(VaeOptions::fromConfig(config));
                 });
}

}  // namespace le
