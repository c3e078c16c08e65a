#include "models/vqvae2.h"

#include "models/layers.h"
#include "models/vae.h"  // discretizedLogisticLogProb

#include <cmath>
#include <sstream>

namespace le {

namespace F = torch::nn::functional;
using torch::indexing::Slice;

namespace {

constexpr int64_t kConditionEmbedding = 32;
constexpr double kInitialLogScale = -2.0;
constexpr double kMinLogScale = -7.0;
constexpr double kMaxLogScale = 2.0;
// The bottom stepper's seed, derived from the run's seed so that one seed draws both grids.
constexpr uint64_t kBottomSeedOffset = 0x9e3779b97f4a7c15ull;

[[noreturn]] void configError(const std::string& what) {
    throw ModelError("vqvae2: " + what);
}

std::string shapeText(const torch::Tensor& t) {
    if (!t.defined()) return "no tensor";
    std::ostringstream s;
    s << t.sizes();
    return s.str();
}

torch::Tensor upsample2(const torch::Tensor& x) {  // nearest, ×2 on both sides
    return x.repeat_interleave(2, 2).repeat_interleave(2, 3);
}

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                       int64_t padding = 0) {
    return torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}

PixelCnnNetOptions priorOptions(const VqVae2Options& o, int64_t height, int64_t width,
                                int64_t conditionChannels) {
    PixelCnnNetOptions p;
    p.channels = 1;
    p.height = height;
    p.width = width;
    p.levels = o.codes;
    p.codes = true;
    p.hidden = o.priorHidden;
    p.layers = o.priorLayers;
    p.firstKernel = o.priorKernel;
    p.conditionChannels = conditionChannels;
    return p;
}

}  // namespace

// ---- options ---------------------------------------------------------------------------------

VqVae2Options VqVae2Options::fromConfig(const ModelConfig& config) {
    VqVae2Options o;
    o.shape = imageShapeFromConfig(config);
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
    o.recipe = o.recipe.read(config, "vqvae2");
    o.priorRecipe = o.priorRecipe.read(config, "vqvae2", "prior_");
    o.refine = DecoderRefinement::fromConfig(config, "vqvae2", o.aeSteps);
    return o;
}

ModelConfig VqVae2Options::toConfig() const {
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

std::vector<CodeLevel> VqVae2Options::levels() const {
    // The padded side is a multiple of 16, so the top grid's cells fill whole packed rows.
    const CodeLevel top{"top", topHeight(), topWidth(), 0};
    const CodeLevel bottom{"bottom", bottomHeight(), bottomWidth(), top.cells()};
    return {top, bottom};
}

int64_t VqVae2Options::packedRows() const {
    return topHeight() * topWidth() / bottomWidth() + bottomHeight();
}

// ---- network ---------------------------------------------------------------------------------

VqVae2NetImpl::VqVae2NetImpl(const VqVae2Options& o) : m_options(o) {
    namespace nn = torch::nn;
    const int64_t c = o.shape.channels, h = o.hidden, d = o.codeDim;
    m_encoderBottom = register_module(
        "encoder_bottom", nn::Sequential(conv(c, h, 4, 2, 1), nn::ReLU(), conv(h, h, 4, 2, 1),
                                         ResidualBlock(h), ResidualBlock(h), nn::ReLU()));
    m_encoderTop =
        register_module("encoder_top", nn::Sequential(conv(h, h, 3, 2, 1), nn::ReLU(),
                                                      ResidualBlock(h), nn::ReLU(), conv(h, d, 1)));
    m_topToBottom = register_module(
        "top_to_bottom", nn::Sequential(conv(d, h, 3, 1, 1), ResidualBlock(h), nn::ReLU()));
    m_bottomIn = register_module("bottom_in", nn::Sequential(conv(2 * h, d, 1)));
    m_topUp = register_module("top_up", nn::Sequential(conv(d, d, 3, 1, 1)));
    m_lastDecoderLayer = TransposedConv2d(nn::ConvTranspose2dOptions(h, c, 4).stride(2).padding(1));
    m_decoder = register_module(
        "decoder",
        nn::Sequential(conv(2 * d, h, 3, 1, 1), ResidualBlock(h), ResidualBlock(h), nn::ReLU(),
                       TransposedConv2d(nn::ConvTranspose2dOptions(h, h, 4).stride(2).padding(1)),
                       nn::ReLU(), m_lastDecoderLayer, nn::Tanh()));
    topCodebook = register_module("top_codebook", Codebook(o.codes, d, o.decay));
    bottomCodebook = register_module("bottom_codebook", Codebook(o.codes, d, o.decay));
    topPrior =
        register_module("top_prior", PixelCnnNet(priorOptions(o, o.topHeight(), o.topWidth(), 0)));
    bottomPrior = register_module(
        "bottom_prior",
        PixelCnnNet(priorOptions(o, o.bottomHeight(), o.bottomWidth(), o.priorHidden)));
    m_conditionEmbedding =
        register_module("condition_embedding", nn::Embedding(o.codes, kConditionEmbedding));
    m_condition = register_module(
        "condition", nn::Sequential(conv(kConditionEmbedding, o.priorHidden, 3, 1, 1), nn::ReLU()));
    m_logScale = register_parameter("log_scale", torch::full({1}, kInitialLogScale));
    stepsTaken = register_buffer("steps_taken", torch::zeros({1}, torch::kLong));
}

VqVae2NetImpl::Encoded VqVae2NetImpl::encode(const torch::Tensor& x, bool straightThrough,
                                             bool initialiseCodebooks) {
    const int64_t top = (m_options.paddedHeight() - x.size(2)) / 2;
    const int64_t left = (m_options.paddedWidth() - x.size(3)) / 2;
    // Padded with the background value (-1, black), as the datasets' borders are.
    const torch::Tensor padded =
        torch::constant_pad_nd(x,
                               {left, m_options.paddedWidth() - x.size(3) - left, top,
                                m_options.paddedHeight() - x.size(2) - top},
                               -1.0);
    Encoded e;
    const torch::Tensor hBottom = m_encoderBottom->forward(padded);
    e.zTop = m_encoderTop->forward(hBottom);
    if (initialiseCodebooks && !topCodebook->initialized()) topCodebook->initializeFrom(e.zTop);
    e.codes.top = topCodebook->nearest(e.zTop.detach());
    e.qTop = topCodebook->lookup(e.codes.top);
    if (straightThrough) e.qTop = e.zTop + (e.qTop - e.zTop).detach();
    e.zBottom =
        m_bottomIn->forward(torch::cat({hBottom, m_topToBottom->forward(upsample2(e.qTop))}, 1));
    if (initialiseCodebooks && !bottomCodebook->initialized())
        bottomCodebook->initializeFrom(e.zBottom);
    e.codes.bottom = bottomCodebook->nearest(e.zBottom.detach());
    e.qBottom = bottomCodebook->lookup(e.codes.bottom);
    if (straightThrough) e.qBottom = e.zBottom + (e.qBottom - e.zBottom).detach();
    return e;
}

torch::Tensor VqVae2NetImpl::decode(const torch::Tensor& qTop, const torch::Tensor& qBottom) {
    const torch::Tensor y =
        m_decoder->forward(torch::cat({qBottom, m_topUp->forward(upsample2(qTop))}, 1));
    const ImageShape& s = m_options.shape;
    return y.narrow(2, (y.size(2) - s.height) / 2, s.height)
        .narrow(3, (y.size(3) - s.width) / 2, s.width);
}

torch::Tensor VqVae2NetImpl::decodeCodes(const CodeLevels& codes) {
    return decode(topCodebook->lookup(codes.top), bottomCodebook->lookup(codes.bottom));
}

torch::Tensor VqVae2NetImpl::bottomCondition(const torch::Tensor& topCodes) {
    const torch::Tensor e = m_conditionEmbedding->forward(topCodes).permute({0, 3, 1, 2});
    return upsample2(m_condition->forward(e));
}

torch::Tensor VqVae2NetImpl::logScale() const {
    return m_logScale.clamp(kMinLogScale, kMaxLogScale);
}

std::vector<torch::Tensor> VqVae2NetImpl::priorParameters() {
    std::vector<torch::Tensor> p;
    for (auto* module : std::initializer_list<torch::nn::Module*>{
             topPrior.get(), bottomPrior.get(), m_conditionEmbedding.get(), m_condition.get()})
        for (const auto& t : module->parameters()) p.push_back(t);
    return p;
}

std::vector<torch::Tensor> VqVae2NetImpl::decoderParameters() {
    std::vector<torch::Tensor> p = m_topUp->parameters();
    for (const auto& t : m_decoder->parameters()) p.push_back(t);
    return p;
}

// ---- sampler ---------------------------------------------------------------------------------

namespace {

// The top grid code by code, then the bottom grid under the top's condition; positions, values
// and anchors in the packed grid.
class VqVae2Sampler final : public AutoregressiveSampler {
public:
    VqVae2Sampler(VqVae2& model, const SamplerOptions& options)
        : m_model(model), m_options(options), m_levels(model.codeLevels()) {
        SamplerOptions top = options;
        if (options.anchors.defined()) {
            const CodeLevels anchors = model.unpack(packedGrid(options.anchors, "anchors"));
            const CodeLevels mask =
                model.unpack(packedGrid(options.anchorMask.to(torch::kLong), "anchor mask"));
            top.anchors = anchors.top;
            top.anchorMask = mask.top[0].to(torch::kBool);
            m_bottomAnchors = anchors.bottom;
            m_bottomMask = mask.bottom[0].to(torch::kBool);
        }
        m_top =
            std::make_unique<PixelCnnStepper>(model.net()->topPrior, options.batch, top, "vqvae2");
    }
    int64_t totalSteps() const override { return m_levels[0].cells() + m_levels[1].cells(); }
    int64_t stepsDone() const override {
        return m_top->stepsDone() + (m_bottom ? m_bottom->stepsDone() : 0);
    }
    SampleStep step() override {
        if (!m_top->done()) return packed(m_top->step(), m_levels[0]);
        if (!m_bottom) startBottom();
        return packed(m_bottom->step(), m_levels[1]);
    }
    torch::Tensor image() const override {
        torch::NoGradGuard noGrad;
        return m_model.decodePartial(values().select(1, 0));
    }
    // N×1×rows×cols, -1 unfilled.
    torch::Tensor values() const override {
        const torch::Tensor top = m_top->values().select(1, 0);
        const torch::Tensor bottom =
            m_bottom ? m_bottom->values().select(1, 0)
                     : torch::full({top.size(0), m_levels[1].height, m_levels[1].width}, -1,
                                   top.options());
        return m_model.pack({top, bottom}).unsqueeze(1);
    }
    // Every code of both grids without reports (sample()).
    void runToEnd() {
        m_top->runToEnd();
        if (!m_bottom) startBottom();
        m_bottom->runToEnd();
    }
    int64_t stepsPerRow() const override { return m_levels[1].width; }
    std::string valueName() const override { return "code"; }

private:
    torch::Tensor packedGrid(const torch::Tensor& t, const char* what) const {
        const int64_t rows = m_model.gridHeight(), cols = m_model.gridWidth();
        if (!t.defined() || t.numel() != rows * cols)
            throw ModelError(std::string("vqvae2: ") + what + " must be a packed code grid of " +
                             std::to_string(rows) + "×" + std::to_string(cols) + ", got " +
                             shapeText(t));
        return t.to(torch::kLong).reshape({1, rows, cols});
    }

    void startBottom() {
        c10::InferenceMode inference;
        const torch::Tensor condition =
            m_model.net()->bottomCondition(m_top->values().select(1, 0));
        SamplerOptions bottom = m_options;
        bottom.seed = m_options.seed ^ kBottomSeedOffset;
        bottom.anchors = m_bottomAnchors;
        bottom.anchorMask = m_bottomMask;
        m_bottom = std::make_unique<PixelCnnStepper>(m_model.net()->bottomPrior, m_options.batch,
                                                     bottom, "vqvae2", condition);
    }

    SampleStep packed(SampleStep s, const CodeLevel& level) const {
        s.position += level.start;
        const int64_t cell = level.start + s.row * level.width + s.col;
        s.row = cell / m_levels[1].width;
        s.col = cell % m_levels[1].width;
        return s;
    }

    VqVae2& m_model;
    SamplerOptions m_options;
    std::vector<CodeLevel> m_levels;
    torch::Tensor m_bottomAnchors, m_bottomMask;
    std::unique_ptr<PixelCnnStepper> m_top, m_bottom;
};

}  // namespace

// ---- the family ------------------------------------------------------------------------------

VqVae2::VqVae2(const VqVae2Options& options) : FamilyModel(options, VqVae2Net(options)) {
    if (m_options.refine.enabled())
        m_refiner = std::make_unique<DecoderRefiner>(m_options.refine, m_options.shape.channels);
    makeOptimizers();
    std::vector<torch::Tensor> averaged = m_net->priorParameters();
    if (m_refiner)
        for (const auto& p : m_net->decoderParameters()) averaged.push_back(p);
    m_average.reset(averaged, m_refiner ? m_options.refine.averageDecay(m_options.priorRecipe.ema)
                                        : m_options.priorRecipe.ema);
}

Capabilities VqVae2::capabilities() const {
    Capabilities c;
    c.encode = c.decode = c.sample = c.likelihoodBound = c.autoregressive = c.codeGrid = true;
    return c;
}

int64_t VqVae2::latentDim() const {
    const auto l = m_options.levels();
    return m_options.codeDim * (l[0].cells() + l[1].cells());
}

void VqVae2::setStepsTaken(int64_t steps) {
    GenerativeModel::setStepsTaken(steps);
    torch::NoGradGuard noGrad;
    m_net->stepsTaken.fill_(steps);
}

bool VqVae2::inPriorPhase() const {
    return m_net->stepsTaken.item<int64_t>() >= m_options.aeSteps && !inRefinePhase();
}

bool VqVae2::inRefinePhase() const {
    return m_refiner && m_net->stepsTaken.item<int64_t>() >= m_options.refine.from;
}

void VqVae2::makeOptimizers() {
    const std::vector<torch::Tensor> prior = m_net->priorParameters();
    std::vector<torch::Tensor> autoencoder;
    for (const auto& p : m_net->parameters()) {
        bool inPrior = false;
        for (const auto& q : prior) inPrior = inPrior || q.is_same(p);
        if (!inPrior) autoencoder.push_back(p);
    }
    m_aeOptimizer = std::make_unique<torch::optim::Adam>(
        autoencoder, torch::optim::AdamOptions(m_options.recipe.lr));
    m_priorOptimizer = std::make_unique<torch::optim::Adam>(
        prior, torch::optim::AdamOptions(m_options.priorRecipe.lr));
    if (!m_refiner) return;
    std::vector<torch::Tensor> decoder = m_net->decoderParameters();
    decoder.push_back(m_net->named_parameters(/*recurse=*/false)["log_scale"]);
    m_refiner->makeOptimizers(decoder);
}

void VqVae2::setLearningRate(double lr) {
    checkLearningRate(lr);
    (inRefinePhase()  ? m_options.refine.recipe
     : inPriorPhase() ? m_options.priorRecipe
                      : m_options.recipe)
        .lr = lr;
}

void VqVae2::to(torch::Device device) {
    const bool moved = device != m_device;
    GenerativeModel::to(device);
    if (m_refiner) m_refiner->to(device);
    if (moved) makeOptimizers();
}

CodeLevels VqVae2::unpack(const torch::Tensor& packed) const {
    const auto l = m_options.levels();
    const torch::Tensor flat = packed.reshape({packed.size(0), -1});
    return {flat.narrow(1, l[0].start, l[0].cells()).reshape({-1, l[0].height, l[0].width}),
            flat.narrow(1, l[1].start, l[1].cells()).reshape({-1, l[1].height, l[1].width})};
}

torch::Tensor VqVae2::pack(const CodeLevels& levels) const {
    const int64_t n = levels.top.size(0);
    return torch::cat({levels.top.reshape({n, -1}), levels.bottom.reshape({n, -1})}, 1)
        .reshape({n, gridHeight(), gridWidth()});
}

void VqVae2::checkCodes(const torch::Tensor& codes, const char* what) const {
    const int64_t h = gridHeight(), w = gridWidth();
    if (!codes.defined() || codes.dim() != 3 || codes.size(1) != h || codes.size(2) != w)
        throw ModelError(std::string(what) + ": expects packed code grids N×" + std::to_string(h) +
                         "×" + std::to_string(w) + " (top then bottom codes), got " +
                         shapeText(codes));
    if (codes.numel() > 0 &&
        (codes.min().item<int64_t>() < 0 || codes.max().item<int64_t>() >= m_options.codes))
        throw ModelError(std::string(what) + ": codes must be in 0.." +
                         std::to_string(m_options.codes - 1));
}

torch::Tensor VqVae2::encodeCodes(const torch::Tensor& x) {
    checkImageBatch(x, "vqvae2 encode");
    torch::NoGradGuard noGrad;
    return pack(m_net->encode(x.to(m_device, torch::kFloat), false).codes);
}

torch::Tensor VqVae2::decodeCodes(const torch::Tensor& codes) {
    checkCodes(codes, "vqvae2 decode");
    CodeLevels levels = unpack(codes.to(m_device, torch::kLong));
    return m_net->decodeCodes(levels);
}

torch::Tensor VqVae2::decodePartial(const torch::Tensor& packed) {
    CodeLevels levels = unpack(packed.to(m_device, torch::kLong));
    levels.top = levels.top.masked_fill(levels.top < 0, blankCode(0));
    levels.bottom = levels.bottom.masked_fill(levels.bottom < 0, blankCode(1));
    return m_net->decodeCodes(levels);
}

int64_t VqVae2::blankCode(int level) const {
    return (level == 0 ? m_net->topCodebook : m_net->bottomCodebook)
        ->usage()
        .argmax()
        .item<int64_t>();
}

int64_t VqVae2::blankCode() const {
    return blankCode(1);
}

torch::Tensor VqVae2::encode(const torch::Tensor& x) {
    checkImageBatch(x, "vqvae2 encode");
    torch::NoGradGuard noGrad;
    const auto e = m_net->encode(x.to(m_device, torch::kFloat), false);
    return torch::cat({e.qTop.flatten(1), e.qBottom.flatten(1)}, 1);
}

torch::Tensor VqVae2::decode(const torch::Tensor& z) {
    checkLatentBatch(z, "vqvae2 decode");
    const auto l = m_options.levels();
    const int64_t d = m_options.codeDim, n = z.size(0);
    const torch::Tensor flat = z.to(m_device, torch::kFloat);
    return m_net->decode(
        flat.narrow(1, 0, d * l[0].cells()).reshape({n, d, l[0].height, l[0].width}),
        flat.narrow(1, d * l[0].cells(), d * l[1].cells())
            .reshape({n, d, l[1].height, l[1].width}));
}

torch::Tensor VqVae2::sample(int64_t n, double temperature, uint64_t seed) {
    checkTemperature(temperature);
    const ImageShape& s = m_options.shape;
    if (n < 0) throw ModelError("vqvae2: cannot draw " + std::to_string(n) + " samples");
    if (n == 0) return torch::zeros({0, s.channels, s.height, s.width}, device());
    torch::NoGradGuard noGrad;
    SamplerOptions options;
    options.temperature = temperature;
    options.seed = seed;
    options.batch = n;
    VqVae2Sampler sampler(*this, options);
    sampler.runToEnd();
    return decodeCodes(sampler.values().select(1, 0));
}

std::unique_ptr<AutoregressiveSampler> VqVae2::sampler(const SamplerOptions& options) {
    return std::make_unique<VqVae2Sampler>(*this, options);
}

Metrics VqVae2::autoencoderStep(const torch::Tensor& x) {
    VqVae2NetImpl& net = *m_net;
    const auto e = net.encode(x, true, true);
    const torch::Tensor commit =
        (e.zTop - e.qTop.detach()).pow(2).mean() + (e.zBottom - e.qBottom.detach()).pow(2).mean();
    const torch::Tensor mean = net.decode(e.qTop, e.qBottom);
    const torch::Tensor mse = (mean - x).pow(2).mean();
    const torch::Tensor scaleNll =
        -discretizedLogisticLogProb(x, mean.detach(), net.logScale()).mean();
    const torch::Tensor loss = mse + m_options.beta * commit;
    setAdamLearningRate(*m_aeOptimizer,
                        m_options.recipe.learningRate(net.stepsTaken.item<int64_t>()));
    m_aeOptimizer->zero_grad();
    (loss + scaleNll).backward();
    clippedStep(*m_aeOptimizer, m_aeOptimizer->param_groups().front().params(),
                m_options.recipe.clip);
    const int64_t restarted = net.topCodebook->update(e.zTop, e.codes.top) +
                              net.bottomCodebook->update(e.zBottom, e.codes.bottom);
    Metrics m = readScalars({{"loss", loss}, {"recon_mse", mse}, {"commit", commit}});
    m["perplexity_top"] = codePerplexity(e.codes.top, m_options.codes);
    m["perplexity"] = codePerplexity(e.codes.bottom, m_options.codes);
    m["dead_codes"] = double(restarted);
    m["phase"] = 1.0;
    return m;
}

Metrics VqVae2::priorStep(const torch::Tensor& x) {
    CodeLevels codes;
    {
        torch::NoGradGuard noGrad;
        codes = m_net->encode(x, false).codes;
    }
    const torch::Tensor top = m_net->topPrior->negLogLikelihood(codes.top.unsqueeze(1)).mean();
    const torch::Tensor bottom =
        m_net->bottomPrior
            ->negLogLikelihood(codes.bottom.unsqueeze(1), m_net->bottomCondition(codes.top))
            .mean();
    const int64_t priorSteps = m_net->stepsTaken.item<int64_t>() - m_options.aeSteps;
    setAdamLearningRate(*m_priorOptimizer, m_options.priorRecipe.learningRate(priorSteps));
    m_priorOptimizer->zero_grad();
    const double cells = double(codes.top[0].numel() + codes.bottom[0].numel());
    ((top + bottom) / cells).backward();
    const double gradNorm =
        clippedStep(*m_priorOptimizer, m_net->priorParameters(), m_options.priorRecipe.clip);
    m_average.update();
    Metrics m = readScalars({{"loss", top + bottom}, {"prior_top", top}, {"prior_bottom", bottom}});
    m["phase"] = 2.0;
    m["grad_norm"] = gradNorm;
    return m;
}

Metrics VqVae2::refineStep(const torch::Tensor& x) {
    VqVae2NetImpl& net = *m_net;
    VqVae2NetImpl::Encoded codes;
    {
        torch::NoGradGuard noGrad;  // the codes stay what the priors were trained on
        codes = net.encode(x, false);
    }
    const torch::Tensor recon = net.decode(codes.qTop, codes.qBottom);
    const int64_t refineSteps = net.stepsTaken.item<int64_t>() - m_options.refine.from;
    Metrics m = m_refiner->step(x, recon, net.lastDecoderWeight(), net.logScale(),
                                m_options.refine.recipe.learningRate(refineSteps));
    m_average.update();
    m["phase"] = 3.0;
    return m;
}

Metrics VqVae2::trainStep(const torch::Tensor& batch) {
    checkImageBatch(batch, "vqvae2 trainStep");
    m_net->train();
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    Metrics m = inRefinePhase()  ? refineStep(x)
                : inPriorPhase() ? priorStep(x)
                                 : autoencoderStep(x);
    m_net->stepsTaken.add_(1);
    m_stepsTaken = m_net->stepsTaken.item<int64_t>();
    return m;
}

Metrics VqVae2::evaluate(const torch::Tensor& batch) {
    checkImageBatch(batch, "vqvae2 evaluate");
    torch::NoGradGuard noGrad;
    ModeGuard mode(*m_net, false);
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    const auto e = m_net->encode(x, false);
    const torch::Tensor mean = m_net->decode(e.qTop, e.qBottom);
    const torch::Tensor reconNll =
        -discretizedLogisticLogProb(x, mean, m_net->logScale()).flatten(1).sum(1).mean();
    const torch::Tensor top = m_net->topPrior->negLogLikelihood(e.codes.top.unsqueeze(1)).mean();
    const torch::Tensor bottom =
        m_net->bottomPrior
            ->negLogLikelihood(e.codes.bottom.unsqueeze(1), m_net->bottomCondition(e.codes.top))
            .mean();
    Metrics m = readScalars({{"recon_nll", reconNll},
                             {"prior_top_nll", top},
                             {"prior_bottom_nll", bottom},
                             {"recon_mse", (mean - x).pow(2).mean()},
                             {"scale", m_net->logScale().exp()}});
    m["prior_nll"] = m["prior_top_nll"] + m["prior_bottom_nll"];
    m["loss"] = m["recon_nll"] + m["prior_nll"];
    m["bpd"] = m["loss"] / (double(m_options.shape.numel()) * std::log(2.0));
    m["perplexity_top"] = codePerplexity(e.codes.top, m_options.codes);
    m["perplexity"] = codePerplexity(e.codes.bottom, m_options.codes);
    return m;
}

void registerVqVae2(ModelRegistry& registry) {
    FamilyInfo info;
    info.title = "VQ-VAE-2";
    info.kind = ModelKind::Hybrid;
    info.temperatureMeaning =
        "softmax(logits / T) at every code of both PixelCNN priors (top grid, then bottom)";
    registry.add("vqvae2", std::move(info),
                 [](const ModelConfig& config) -> std::unique_ptr<GenerativeModel> {
                     return std::make_unique<VqVae2>(VqVae2Options::fromConfig(config));
                 });
}

}  // namespace le
