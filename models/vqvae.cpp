#include "models/vqvae.h"

#include "models/layers.h"

#include "models/vae.h"  // discretizedLogisticLogProb

#include <algorithm>
#include <cmath>
#include <sstream>

namespace le {

namespace F = torch::nn::functional;
using torch::indexing::Slice;

namespace {

constexpr double kEpsilon = 1e-5;
// A code whose moving-average share of a batch falls below this many vectors is dead.
constexpr double kDeadUsage = 0.03;
constexpr double kInitialLogScale = -2.0;
constexpr double kMinLogScale = -7.0;
constexpr double kMaxLogScale = 2.0;

[[noreturn]] void configError(const std::string& what) {
    throw ModelError("vqvae: " + what);
}

std::string shapeText(const torch::Tensor& t) {
    if (!t.defined()) return "no tensor";
    std::ostringstream s;
    s << t.sizes();
    return s.str();
}

}  // namespace

// ---- shared pieces ---------------------------------------------------------------------------

ResidualBlockImpl::ResidualBlockImpl(int64_t channels) {
    namespace nn = torch::nn;
    constexpr int64_t kResidualWidth = 32;
    m_conv3 = register_module(
        "conv3", nn::Conv2d(nn::Conv2dOptions(channels, kResidualWidth, 3).padding(1)));
    m_conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(kResidualWidth, channels, 1)));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x) {
    return x + m_conv1->forward(torch::relu(m_conv3->forward(torch::relu(x))));
}

double codePerplexity(const torch::Tensor& indices, int64_t codes) {
    const torch::Tensor counts = torch::bincount(indices.flatten(), {}, codes).to(torch::kDouble);
    const torch::Tensor p = counts / counts.sum();
    return std::exp(-(p * torch::log(p + 1e-12)).sum().item<double>());
}

// ---- options ---------------------------------------------------------------------------------

VqVaeOptions VqVaeOptions::fromConfig(const ModelConfig& config) {
    VqVaeOptions o;
    o.shape = imageShapeFromConfig(config);
    if (o.shape.height % 4 != 0 || o.shape.width % 4 != 0)
        configError("height and width must be divisible by 4, got " + o.shape.toString());
    o.hidden = config.getIntIn("hidden", o.hidden, 8, 256);
    o.codes = config.getIntIn("codes", o.codes, 2, 1024);
    o.codeDim = config.getIntIn("code_dim", o.codeDim, 1, 256);
    o.beta = config.getDouble("beta", o.beta);
    if (!(o.beta >= 0.0 && std::isfinite(o.beta)))
        configError("beta must be >= 0, got " + config.getString("beta", ""));
    o.decay = config.getDouble("decay", o.decay);
    if (!(o.decay > 0.0 && o.decay < 1.0))
        configError("decay must be in (0, 1), got " + config.getString("decay", ""));
    o.aeSteps = config.getIntIn("ae_steps", o.aeSteps, 0, 100000000);
    o.priorHidden = config.getIntIn("prior_hidden", o.priorHidden, 8, 512);
    o.priorLayers = config.getIntIn("prior_layers", o.priorLayers, 2, 30);
    o.priorKernel = config.getIntIn("prior_kernel", o.priorKernel, 3, 9);
    if (o.priorKernel % 2 == 0)
        configError("prior_kernel must be odd, got " + std::to_string(o.priorKernel));
    o.recipe = o.recipe.read(config, "vqvae");
    o.priorRecipe = o.priorRecipe.read(config, "vqvae", "prior_");
    o.refine = DecoderRefinement::fromConfig(config, "vqvae", o.aeSteps);
    return o;
}

OptimiserRecipe VqVaeOptions::defaultPriorRecipe() {
    OptimiserRecipe r;
    r.lr = 1e-3;
    r.warmup = 50;
    r.clip = 5.0;  // as the PixelCNN family: on the per-code loss
    r.ema = 0.999;
    return r;
}

ModelConfig VqVaeOptions::toConfig() const {
    ModelConfig c;
    writeImageShape(c, shape);
    c.set("hidden", hidden);
    c.set("codes", codes);
    c.set("code_dim", codeDim);
    c.set("beta", beta);
    c.set("decay", decay);
    c.set("ae_steps", aeSteps);
    c.set("prior_hidden", priorHidden);
    c.set("prior_layers", priorLayers);
    c.set("prior_kernel", priorKernel);
    recipe.write(c);
    priorRecipe.write(c, "prior_");
    refine.write(c);
    return c;
}

// ---- codebook --------------------------------------------------------------------------------

CodebookImpl::CodebookImpl(int64_t codes, int64_t dim, double decay) : m_decay(decay) {
    m_embedding = register_buffer("embedding", torch::randn({codes, dim}));
    m_clusterSize = register_buffer("cluster_size", torch::zeros({codes}));
    m_embeddingSum = register_buffer("embedding_sum", m_embedding.clone());
    m_initialized = register_buffer("initialized", torch::zeros({1}, torch::kBool));
}

namespace {

torch::Tensor flattenGrid(const torch::Tensor& z) {  // N×D×h×w -> (N·h·w)×D
    return z.permute({0, 2, 3, 1}).reshape({-1, z.size(1)});
}

torch::Tensor randomRows(const torch::Tensor& flat, int64_t count) {
    const torch::Tensor rows = torch::randint(
        flat.size(0), {count}, torch::TensorOptions(torch::kLong).device(flat.device()));
    return flat.index_select(0, rows);
}

}  // namespace

torch::Tensor CodebookImpl::nearest(const torch::Tensor& z) const {
    const torch::Tensor flat = flattenGrid(z);
    const torch::Tensor distances = flat.pow(2).sum(1, true) - 2.0 * flat.matmul(m_embedding.t()) +
                                    m_embedding.pow(2).sum(1).unsqueeze(0);
    return distances.argmin(1).view({z.size(0), z.size(2), z.size(3)});
}

torch::Tensor CodebookImpl::lookup(const torch::Tensor& indices) const {
    return F::embedding(indices, m_embedding).permute({0, 3, 1, 2});
}

void CodebookImpl::initializeFrom(const torch::Tensor& z) {
    torch::NoGradGuard noGrad;
    const torch::Tensor flat = flattenGrid(z.detach());
    m_embedding.copy_(randomRows(flat, m_embedding.size(0)));
    m_embeddingSum.copy_(m_embedding);
    m_clusterSize.fill_(1.0);
    m_initialized.fill_(true);
}

int64_t CodebookImpl::update(const torch::Tensor& z, const torch::Tensor& indices) {
    torch::NoGradGuard noGrad;
    const int64_t codes = m_embedding.size(0);
    const torch::Tensor flat = flattenGrid(z.detach());
    const torch::Tensor onehot = F::one_hot(indices.flatten(), codes).to(flat.dtype());
    m_clusterSize.mul_(m_decay).add_(onehot.sum(0), 1.0 - m_decay);
    m_embeddingSum.mul_(m_decay).add_(onehot.t().matmul(flat), 1.0 - m_decay);
    // Laplace smoothing keeps an unused code from dividing by zero.
    const torch::Tensor n = m_clusterSize.sum();
    const torch::Tensor smoothed = (m_clusterSize + kEpsilon) / (n + codes * kEpsilon) * n;
    m_embedding.copy_(m_embeddingSum / smoothed.unsqueeze(1));
    // Dead codes restart on encoder outputs of this batch, with a fresh share of usage.
    const torch::Tensor dead = (m_clusterSize < kDeadUsage).nonzero().flatten();
    const int64_t restarted = dead.size(0);
    if (restarted > 0) {
        const torch::Tensor fresh = randomRows(flat, restarted);
        m_embedding.index_copy_(0, dead, fresh);
        m_embeddingSum.index_copy_(0, dead, fresh);
        m_clusterSize.index_fill_(0, dead, 1.0);
    }
    return restarted;
}

// ---- network ---------------------------------------------------------------------------------

VqVaeNetImpl::VqVaeNetImpl(const VqVaeOptions& o) {
    namespace nn = torch::nn;
    const int64_t c = o.shape.channels, h = o.hidden;
    m_encoder = register_module(
        "encoder",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(c, h, 4).stride(2).padding(1)), nn::ReLU(),
                       nn::Conv2d(nn::Conv2dOptions(h, h, 4).stride(2).padding(1)),
                       ResidualBlock(h), ResidualBlock(h), nn::ReLU(),
                       nn::Conv2d(nn::Conv2dOptions(h, o.codeDim, 1))));
    m_lastDecoderLayer = TransposedConv2d(nn::ConvTranspose2dOptions(h, c, 4).stride(2).padding(1));
    m_decoder = register_module(
        "decoder",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(o.codeDim, h, 3).padding(1)), ResidualBlock(h),
                       ResidualBlock(h), nn::ReLU(),
                       TransposedConv2d(nn::ConvTranspose2dOptions(h, h, 4).stride(2).padding(1)),
                       nn::ReLU(), m_lastDecoderLayer, nn::Tanh()));
    codebook = register_module("codebook", Codebook(o.codes, o.codeDim, o.decay));
    PixelCnnNetOptions p;
    p.channels = 1;
    p.height = o.gridHeight();
    p.width = o.gridWidth();
    p.levels = o.codes;
    p.codes = true;
    p.hidden = o.priorHidden;
    p.layers = o.priorLayers;
    p.firstKernel = o.priorKernel;
    prior = register_module("prior", PixelCnnNet(p));
    m_logScale = register_parameter("log_scale", torch::full({1}, kInitialLogScale));
    stepsTaken = register_buffer("steps_taken", torch::zeros({1}, torch::kLong));
}

torch::Tensor VqVaeNetImpl::encodeContinuous(const torch::Tensor& x) {
    return m_encoder->forward(x);
}

torch::Tensor VqVaeNetImpl::decode(const torch::Tensor& q) {
    return m_decoder->forward(q);
}

torch::Tensor VqVaeNetImpl::logScale() const {
    return m_logScale.clamp(kMinLogScale, kMaxLogScale);
}

std::vector<torch::Tensor> VqVaeNetImpl::decoderParameters() {
    return m_decoder->parameters();
}

// ---- sampler ---------------------------------------------------------------------------------

namespace {

class VqVaeSampler final : public AutoregressiveSampler {
public:
    VqVaeSampler(VqVae& model, const SamplerOptions& options)
        : m_model(model), m_stepper(model.net()->prior, options.batch, options, "vqvae") {}
    int64_t totalSteps() const override { return m_stepper.totalSteps(); }
    int64_t stepsDone() const override { return m_stepper.stepsDone(); }
    SampleStep step() override { return m_stepper.step(); }
    // The grid decoded, blank cells showing the most used code.
    torch::Tensor image() const override {
        const torch::Tensor v = m_stepper.values().select(1, 0);
        torch::NoGradGuard noGrad;
        return m_model.decodeCodes(
            torch::where(v < 0, torch::full_like(v, m_model.blankCode()), v));
    }
    torch::Tensor values() const override { return m_stepper.values().clone(); }
    int64_t stepsPerRow() const override { return m_stepper.values().size(3); }
    std::string valueName() const override { return "code"; }

private:
    VqVae& m_model;
    PixelCnnStepper m_stepper;
};

}  // namespace

// ---- the family ------------------------------------------------------------------------------

VqVae::VqVae(const VqVaeOptions& options) : FamilyModel(options, VqVaeNet(options)) {
    if (m_options.refine.enabled())
        m_refiner = std::make_unique<DecoderRefiner>(m_options.refine, m_options.shape.channels);
    makeOptimizers();
    std::vector<torch::Tensor> averaged = m_net->prior->parameters();
    if (m_refiner)
        for (const auto& p : m_net->decoderParameters()) averaged.push_back(p);
    m_average.reset(averaged, m_refiner ? m_options.refine.averageDecay(m_options.priorRecipe.ema)
                                        : m_options.priorRecipe.ema);
}

Capabilities VqVae::capabilities() const {
    Capabilities c;
    c.encode = c.decode = c.sample = c.likelihoodBound = c.autoregressive = c.codeGrid = true;
    return c;
}

int64_t VqVae::latentDim() const {
    return m_options.codeDim * m_options.gridHeight() * m_options.gridWidth();
}

void VqVae::setStepsTaken(int64_t steps) {
    GenerativeModel::setStepsTaken(steps);
    torch::NoGradGuard noGrad;
    m_net->stepsTaken.fill_(steps);
}

bool VqVae::inPriorPhase() const {
    return m_net->stepsTaken.item<int64_t>() >= m_options.aeSteps && !inRefinePhase();
}

bool VqVae::inRefinePhase() const {
    return m_refiner && m_net->stepsTaken.item<int64_t>() >= m_options.refine.from;
}

void VqVae::makeOptimizers() {
    std::vector<torch::Tensor> autoencoder, prior;
    for (const auto& p : m_net->named_parameters(true))
        (p.key().rfind("prior.", 0) == 0 ? prior : autoencoder).push_back(p.value());
    m_aeOptimizer = std::make_unique<torch::optim::Adam>(
        autoencoder, torch::optim::AdamOptions(m_options.recipe.lr));
    m_priorOptimizer = std::make_unique<torch::optim::Adam>(
        prior, torch::optim::AdamOptions(m_options.priorRecipe.lr));
    if (!m_refiner) return;
    std::vector<torch::Tensor> decoder = m_net->decoderParameters();
    decoder.push_back(m_net->named_parameters(/*recurse=*/false)["log_scale"]);
    m_refiner->makeOptimizers(decoder);
}

void VqVae::setLearningRate(double lr) {
    checkLearningRate(lr);
    // One rate for the phase now training; the others keep their own. trainStep applies it.
    (inRefinePhase()  ? m_options.refine.recipe
     : inPriorPhase() ? m_options.priorRecipe
                      : m_options.recipe)
        .lr = lr;
}

void VqVae::to(torch::Device device) {
    const bool moved = device != m_device;
    GenerativeModel::to(device);
    if (m_refiner) m_refiner->to(device);
    if (moved) makeOptimizers();
}

void VqVae::checkCodes(const torch::Tensor& codes, const char* what) const {
    const int64_t h = m_options.gridHeight(), w = m_options.gridWidth();
    if (!codes.defined() || codes.dim() != 3 || codes.size(1) != h || codes.size(2) != w)
        throw ModelError(std::string(what) + ": expects code grids N×" + std::to_string(h) + "×" +
                         std::to_string(w) + ", got " + shapeText(codes));
    if (codes.numel() > 0 &&
        (codes.min().item<int64_t>() < 0 || codes.max().item<int64_t>() >= m_options.codes))
        throw ModelError(std::string(what) + ": codes must be in 0.." +
                         std::to_string(m_options.codes - 1));
}

torch::Tensor VqVae::encodeCodes(const torch::Tensor& x) {
    checkImageBatch(x, "vqvae encode");
    torch::NoGradGuard noGrad;
    return m_net->codebook->nearest(m_net->encodeContinuous(x.to(m_device, torch::kFloat)));
}

torch::Tensor VqVae::decodeCodes(const torch::Tensor& codes) {
    checkCodes(codes, "vqvae decode");
    return m_net->decode(m_net->codebook->lookup(codes.to(m_device, torch::kLong)));
}

torch::Tensor VqVae::encode(const torch::Tensor& x) {
    const torch::Tensor codes = encodeCodes(x);
    return m_net->codebook->lookup(codes).flatten(1);
}

torch::Tensor VqVae::decode(const torch::Tensor& z) {
    checkLatentBatch(z, "vqvae decode");
    return m_net->decode(
        z.to(m_device, torch::kFloat)
            .view({z.size(0), m_options.codeDim, m_options.gridHeight(), m_options.gridWidth()}));
}

torch::Tensor VqVae::codeUsage() const {
    return m_net->codebook->usage().to(torch::kCPU);
}

int64_t VqVae::blankCode() const {
    return m_net->codebook->usage().argmax().item<int64_t>();
}

torch::Tensor VqVae::sample(int64_t n, double temperature, uint64_t seed) {
    checkTemperature(temperature);
    const ImageShape& s = m_options.shape;
    if (n < 0) throw ModelError("vqvae: cannot draw " + std::to_string(n) + " samples");
    if (n == 0) return torch::zeros({0, s.channels, s.height, s.width}, device());
    torch::NoGradGuard noGrad;
    SamplerOptions options;
    options.temperature = temperature;
    options.seed = seed;
    PixelCnnStepper stepper(m_net->prior, n, options, "vqvae");
    stepper.runToEnd();
    return decodeCodes(stepper.values().select(1, 0));
}

std::unique_ptr<AutoregressiveSampler> VqVae::sampler(const SamplerOptions& options) {
    SamplerOptions grid = options;
    if (options.anchors.defined()) {
        const int64_t h = m_options.gridHeight(), w = m_options.gridWidth();
        if (options.anchors.numel() != h * w)
            throw ModelError("vqvae: anchors must be a code grid of " + std::to_string(h) + "×" +
                             std::to_string(w) + ", got " + shapeText(options.anchors));
        grid.anchors = options.anchors.to(torch::kLong).reshape({1, h, w});
    }
    return std::make_unique<VqVaeSampler>(*this, grid);
}

Metrics VqVae::autoencoderStep(const torch::Tensor& x) {
    VqVaeNetImpl& net = *m_net;
    const torch::Tensor z = net.encodeContinuous(x);
    if (!net.codebook->initialized()) net.codebook->initializeFrom(z);
    const torch::Tensor indices = net.codebook->nearest(z.detach());
    const torch::Tensor q = net.codebook->lookup(indices);
    const torch::Tensor commit = (z - q).pow(2).mean();
    const torch::Tensor straightThrough = z + (q - z).detach();
    const torch::Tensor mean = net.decode(straightThrough);
    const torch::Tensor mse = (mean - x).pow(2).mean();
    // The likelihood's scale is fitted to the residuals alone: it does not steer the decoder.
    const torch::Tensor scaleNll =
        -discretizedLogisticLogProb(x, mean.detach(), net.logScale()).mean();
    const torch::Tensor loss = mse + m_options.beta * commit;
    setAdamLearningRate(*m_aeOptimizer,
                        m_options.recipe.learningRate(net.stepsTaken.item<int64_t>()));
    m_aeOptimizer->zero_grad();
    (loss + scaleNll).backward();
    clippedStep(*m_aeOptimizer, m_aeOptimizer->param_groups().front().params(),
                m_options.recipe.clip);
    const int64_t restarted = net.codebook->update(z, indices);
    Metrics m = readScalars({{"loss", loss}, {"recon_mse", mse}, {"commit", commit}});
    m["perplexity"] = codePerplexity(indices, m_options.codes);
    m["dead_codes"] = double(restarted);
    m["phase"] = 1.0;
    return m;
}

Metrics VqVae::priorStep(const torch::Tensor& x) {
    torch::Tensor codes;
    {
        torch::NoGradGuard noGrad;
        codes = m_net->codebook->nearest(m_net->encodeContinuous(x)).unsqueeze(1);
    }
    const torch::Tensor nll = m_net->prior->negLogLikelihood(codes).mean();
    const int64_t priorSteps = m_net->stepsTaken.item<int64_t>() - m_options.aeSteps;
    setAdamLearningRate(*m_priorOptimizer, m_options.priorRecipe.learningRate(priorSteps));
    m_priorOptimizer->zero_grad();
    (nll / double(codes[0].numel())).backward();
    const double gradNorm =
        clippedStep(*m_priorOptimizer, m_net->prior->parameters(), m_options.priorRecipe.clip);
    m_average.update();
    return {{"loss", nll.item<double>()}, {"phase", 2.0}, {"grad_norm", gradNorm}};
}

Metrics VqVae::refineStep(const torch::Tensor& x) {
    VqVaeNetImpl& net = *m_net;
    torch::Tensor q;
    {
        torch::NoGradGuard noGrad;  // the codes stay what the prior was trained on
        q = net.codebook->lookup(net.codebook->nearest(net.encodeContinuous(x)));
    }
    const torch::Tensor recon = net.decode(q);
    const int64_t refineSteps = net.stepsTaken.item<int64_t>() - m_options.refine.from;
    Metrics m = m_refiner->step(x, recon, net.lastDecoderWeight(), net.logScale(),
                                m_options.refine.recipe.learningRate(refineSteps));
    m_average.update();
    m["phase"] = 3.0;
    return m;
}

Metrics VqVae::trainStep(const torch::Tensor& batch) {
    checkImageBatch(batch, "vqvae trainStep");
    m_net->train();
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    Metrics m = inRefinePhase()  ? refineStep(x)
                : inPriorPhase() ? priorStep(x)
                                 : autoencoderStep(x);
    m_net->stepsTaken.add_(1);
    m_stepsTaken = m_net->stepsTaken.item<int64_t>();
    return m;
}

Metrics VqVae::evaluate(const torch::Tensor& batch) {
    checkImageBatch(batch, "vqvae evaluate");
    torch::NoGradGuard noGrad;
    const bool wasTraining = m_net->is_training();
    m_net->eval();
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    const torch::Tensor indices = m_net->codebook->nearest(m_net->encodeContinuous(x));
    const torch::Tensor mean = m_net->decode(m_net->codebook->lookup(indices));
    const double reconNll = -discretizedLogisticLogProb(x, mean, m_net->logScale())
                                 .flatten(1)
                                 .sum(1)
                                 .mean()
                                 .item<double>();
    const double priorNll =
        m_net->prior->negLogLikelihood(indices.unsqueeze(1)).mean().item<double>();
    m_net->train(wasTraining);
    const double dims = double(m_options.shape.numel());
    return {{"loss", reconNll + priorNll},
            {"recon_nll", reconNll},
            {"prior_nll", priorNll},
            {"bpd", (reconNll + priorNll) / (dims * std::log(2.0))},
            {"recon_mse", (mean - x).pow(2).mean().item<double>()},
            {"perplexity", codePerplexity(indices, m_options.codes)},
            {"scale", std::exp(m_net->logScale().item<double>())}};
}

void registerVqVae(ModelRegistry& registry) {
    FamilyInfo info;
    info.title = "VQ-VAE";
    info.kind = ModelKind::Hybrid;
    info.temperatureMeaning = "softmax(logits / T) at every code of the PixelCNN prior";
    registry.add("vqvae", std::move(info),
                 [](const ModelConfig& config) -> std::unique_ptr<GenerativeModel> {
                     return std::make_unique<VqVae>(VqVaeOptions::fromConfig(config));
                 });
}

}  // namespace le
