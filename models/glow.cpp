#include "models/glow.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace le {

namespace {

// A 3×3 convolution from many channels to few, as the couplings end. LibTorch sends a single
// image's convolution to its native im2col + GEMM path, which for these shapes is several times
// slower here than oneDNN (64 → 12 channels at 16×16: about 1 ms against 0.15 ms), and that one
// convolution per flow step was most of an interactive decode. Batches go to oneDNN anyway;
// with gradients on, the dispatcher's choice stands.
torch::Tensor wideToNarrowConv(const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& b) {
    if (at::hasMKLDNN() && x.is_cpu() && x.scalar_type() == torch::kFloat &&
        !torch::GradMode::is_enabled())
        return at::mkldnn_convolution(x.contiguous(), w.contiguous(), b, {1, 1}, {1, 1}, {1, 1}, 1);
    return torch::conv2d(x, w, b, 1, 1);
}

// A 1×1 convolution (weight out×in, or out×in×1×1) as one batched matrix product: on the CPU,
// LibTorch runs small 1×1 convolutions through im2col and a GEMM per image; this is the GEMM alone.
torch::Tensor channelProduct(const torch::Tensor& weight, const torch::Tensor& x) {
    // Training (gradients on, batches of 64) keeps the convolution, whose kernels are faster there.
    if (torch::GradMode::is_enabled())
        return torch::conv2d(x, weight.view({weight.size(0), weight.size(1), 1, 1}));
    const torch::Tensor w = weight.view({weight.size(0), weight.size(1)});
    return torch::matmul(w, x.flatten(2)).view({x.size(0), w.size(0), x.size(2), x.size(3)});
}

constexpr double kLog2Pi = 1.8378770664093453;  // log(2π)
constexpr uint64_t kEvaluateSeed = 0x5eed;
// 8-bit levels per unit of the flow's input scale: y = v/256 − 1/2 for v = k + u in [0, 256).
constexpr double kLevels = 256.0;

[[noreturn]] void configError(const std::string& what) {
    throw ModelError("glow: " + what);
}

int64_t defaultLevels(const ImageShape& s) {
    for (int64_t levels = 3; levels >= 1; --levels) {
        const int64_t f = int64_t{1} << levels;
        if (s.height % f == 0 && s.width % f == 0) return levels;
    }
    configError("height and width must be even, got " + s.toString());
}

// (C, H, W) -> (4C, H/2, W/2): each 2×2 block of pixels becomes four channels.
torch::Tensor squeeze2(const torch::Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    return x.view({n, c, h / 2, 2, w / 2, 2})
        .permute({0, 1, 3, 5, 2, 4})
        .reshape({n, c * 4, h / 2, w / 2});
}

torch::Tensor unsqueeze2(const torch::Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    return x.view({n, c / 4, 2, 2, h, w})
        .permute({0, 1, 4, 2, 5, 3})
        .reshape({n, c / 4, h * 2, w * 2});
}

// Σ over all but the batch dimension of log N(z; mean, exp(logScale)²).
torch::Tensor gaussianLogProb(const torch::Tensor& z, const torch::Tensor& mean,
                              const torch::Tensor& logScale) {
    const torch::Tensor eps = (z - mean) * torch::exp(-logScale);
    return (-0.5 * (kLog2Pi + 2.0 * logScale + eps.pow(2))).flatten(1).sum(1);
}

}  // namespace

// ---- options ---------------------------------------------------------------------------------

GlowOptions GlowOptions::fromConfig(const ModelConfig& config) {
    GlowOptions o;
    o.shape = imageShapeFromConfig(config);
    o.levels = config.getIntIn("levels", defaultLevels(o.shape), 1, 5);
    const int64_t f = int64_t{1} << o.levels;
    if (o.shape.height % f != 0 || o.shape.width % f != 0)
        configError(std::to_string(o.levels) + " levels need height and width divisible by " +
                    std::to_string(f) + ", got " + o.shape.toString());
    o.steps = config.getIntIn("steps", o.steps, 1, 32);
    o.hidden = config.getIntIn("hidden", o.hidden, 4, 512);
    o.recipe = o.recipe.read(config, "glow");
    return o;
}

OptimiserRecipe GlowOptions::defaultRecipe() {
    OptimiserRecipe r;
    r.lr = 1e-3;
    r.warmup = 20;
    // The objective is in bits per dimension, where a healthy gradient norm is of order 1..10; a
    // clip well above that only catches the rare wild batch early in training.
    r.clip = 50.0;
    r.ema = 0.999;
    return r;
}

ModelConfig GlowOptions::toConfig() const {
    ModelConfig c;
    writeImageShape(c, shape);
    c.set("levels", levels);
    c.set("steps", steps);
    c.set("hidden", hidden);
    recipe.write(c);
    return c;
}

// ---- layers ----------------------------------------------------------------------------------

ActNormImpl::ActNormImpl(int64_t channels) {
    m_bias = register_parameter("bias", torch::zeros({1, channels, 1, 1}));
    m_logScale = register_parameter("log_scale", torch::zeros({1, channels, 1, 1}));
    m_initialized = register_buffer("initialized", torch::zeros({1}));
}

bool ActNormImpl::initialized() const {
    return m_initialized.item<float>() != 0.0f;
}

torch::Tensor ActNormImpl::forward(const torch::Tensor& x, torch::Tensor& logdet, bool initialize) {
    if (initialize && !initialized()) {
        torch::NoGradGuard noGrad;
        const torch::Tensor perChannel = x.detach().transpose(0, 1).flatten(1);
        const torch::Tensor mean = perChannel.mean(1).view({1, -1, 1, 1});
        const torch::Tensor std = perChannel.std(1).view({1, -1, 1, 1});
        m_bias.copy_(-mean);
        m_logScale.copy_(-torch::log(std + 1e-6));
        m_initialized.fill_(1.0);
    }
    logdet = logdet + double(x.size(2) * x.size(3)) * m_logScale.sum();
    return (x + m_bias) * torch::exp(m_logScale);
}

torch::Tensor ActNormImpl::reverse(const torch::Tensor& y) {
    return y * torch::exp(-m_logScale) - m_bias;
}

InvConv1x1Impl::InvConv1x1Impl(int64_t channels) {
    // A random rotation: |det| = 1 at the start, and far from singular.
    const torch::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({channels, channels})));
    m_weight = register_parameter("weight", q.contiguous());
}

torch::Tensor InvConv1x1Impl::forward(const torch::Tensor& x, torch::Tensor& logdet) {
    // slogdet in float64: the log-det enters the likelihood once per pixel position.
    const torch::Tensor logAbsDet =
        std::get<1>(torch::slogdet(m_weight.to(torch::kDouble))).to(x.scalar_type());
    logdet = logdet + double(x.size(2) * x.size(3)) * logAbsDet;
    return channelProduct(m_weight, x);
}

const torch::Tensor& InvConv1x1Impl::inverse() {
    const void* storage = m_weight.data_ptr();
    if (!m_inverse.defined() || m_inverseOf != storage || m_inverseVersion != m_weight._version()) {
        torch::NoGradGuard noGrad;
        m_inverse = torch::inverse(m_weight.to(torch::kDouble)).to(m_weight.scalar_type());
        m_inverseOf = storage;
        m_inverseVersion = m_weight._version();
    }
    return m_inverse;
}

torch::Tensor InvConv1x1Impl::reverse(const torch::Tensor& y) {
    // Differentiable in y, not in W: training runs forward(), never reverse().
    return channelProduct(inverse().to(y.scalar_type()), y);
}

ZeroConv2dImpl::ZeroConv2dImpl(int64_t in, int64_t out) {
    m_conv =
        register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
    torch::NoGradGuard noGrad;
    m_conv->weight.zero_();
    m_conv->bias.zero_();
    m_logScale = register_parameter("log_scale", torch::zeros({1, out, 1, 1}));
}

torch::Tensor ZeroConv2dImpl::forward(const torch::Tensor& x) {
    return wideToNarrowConv(x, m_conv->weight, m_conv->bias) * torch::exp(3.0 * m_logScale);
}

AffineCouplingImpl::AffineCouplingImpl(int64_t channels, int64_t hidden) {
    namespace nn = torch::nn;
    const int64_t kept = channels / 2, changed = channels - kept;
    m_net = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(kept, hidden, 3).padding(1)), nn::ReLU(),
                           nn::Conv2d(nn::Conv2dOptions(hidden, hidden, 1)), nn::ReLU(),
                           ZeroConv2d(hidden, 2 * changed));
    register_module("net", m_net);
}

std::pair<torch::Tensor, torch::Tensor> AffineCouplingImpl::shiftAndScale(const torch::Tensor& xa) {
    // The Sequential's layers in order; the parameters and their names stay the Sequential's.
    // Training runs the network channels-last, the layout oneDNN computes in: NCHW costs a
    // reorder around every convolution and its gradient, and at batch 64 these narrow-in,
    // wide-inside convolutions spent more time reordering than computing (forward and backward
    // of the network 2.4x faster at 14x14, 1.5x at 7x7, measured on python3-torch). Only the thin
    // input and output change layout. Decoding keeps NCHW and its 1x1 convolution as a channel
    // product (see channelProduct), tuned for one image.
    const bool training = torch::GradMode::is_enabled();
    const auto& mid = *m_net[2]->as<torch::nn::Conv2d>();
    torch::Tensor h = m_net[0]->as<torch::nn::Conv2d>()->forward(
        training ? xa.contiguous(torch::MemoryFormat::ChannelsLast) : xa);
    h = torch::relu(h);
    h = torch::relu(training ? torch::conv2d(h, mid.weight, mid.bias)
                             : channelProduct(mid.weight, h) + mid.bias.view({1, -1, 1, 1}));
    h = m_net[4]->as<ZeroConv2d>()->forward(h);
    if (training) h = h.contiguous();
    const int64_t half = h.size(1) / 2;
    // openai/glow: scale = sigmoid(raw + 2), so it starts near 0.88 and can never blow up.
    return {h.narrow(1, 0, half), h.narrow(1, half, half) + 2.0};
}

torch::Tensor AffineCouplingImpl::forward(const torch::Tensor& x, torch::Tensor& logdet) {
    const int64_t kept = x.size(1) / 2;
    const torch::Tensor xa = x.narrow(1, 0, kept);
    const torch::Tensor xb = x.narrow(1, kept, x.size(1) - kept);
    auto [shift, raw] = shiftAndScale(xa);
    logdet = logdet + torch::log_sigmoid(raw).flatten(1).sum(1);
    return torch::cat({xa, (xb + shift) * torch::sigmoid(raw)}, 1);
}

torch::Tensor AffineCouplingImpl::reverse(const torch::Tensor& y) {
    const int64_t kept = y.size(1) / 2;
    const torch::Tensor ya = y.narrow(1, 0, kept);
    const torch::Tensor yb = y.narrow(1, kept, y.size(1) - kept);
    auto [shift, raw] = shiftAndScale(ya);
    // The floor only matters for latents far outside the data (see FlowStepImpl::reverse): there
    // a scale that underflows to 0 would turn the division into inf and then NaN.
    constexpr double kMinScale = 1e-6;
    return torch::cat({ya, yb / torch::sigmoid(raw).clamp_min(kMinScale) - shift}, 1);
}

FlowStepImpl::FlowStepImpl(int64_t channels, int64_t hidden) {
    m_actNorm = register_module("actnorm", ActNorm(channels));
    m_invConv = register_module("invconv", InvConv1x1(channels));
    m_coupling = register_module("coupling", AffineCoupling(channels, hidden));
}

torch::Tensor FlowStepImpl::forward(const torch::Tensor& x, torch::Tensor& logdet,
                                    bool initialize) {
    torch::Tensor h = m_actNorm->forward(x, logdet, initialize);
    h = m_invConv->forward(h, logdet);
    return m_coupling->forward(h, logdet);
}

// Real data never comes near the bound; a latent far out in a tail can, when a coupling's scale
// is small and its inverse divides by it: step after step the values overflow to inf and then
// NaN. Held at the bound, such a sample stays a (saturated) image. Clamping alone lets a NaN
// through (inf − inf inside a step, or an overflowing prior scale above it), so NaN becomes 0.
torch::Tensor FlowStepImpl::reverse(const torch::Tensor& y) {
    constexpr double kReverseBound = 1e4;
    return torch::nan_to_num(m_actNorm->reverse(m_invConv->reverse(m_coupling->reverse(y))), 0.0,
                             kReverseBound, -kReverseBound)
        .clamp(-kReverseBound, kReverseBound);
}

// ---- the flow --------------------------------------------------------------------------------

GlowNetImpl::GlowNetImpl(const GlowOptions& o) {
    int64_t c = o.shape.channels, h = o.shape.height, w = o.shape.width;
    for (int64_t level = 0; level < o.levels; ++level) {
        c *= 4;
        h /= 2;
        w /= 2;
        torch::nn::ModuleList steps;
        for (int64_t k = 0; k < o.steps; ++k) steps->push_back(FlowStep(c, o.hidden));
        m_levels.push_back(register_module("level" + std::to_string(level), steps));
        if (level + 1 < o.levels) {
            const int64_t kept = c / 2, split = c - kept;
            m_latentShapes.push_back({split, h, w});
            m_splitPriors.push_back(
                register_module("prior" + std::to_string(level), ZeroConv2d(kept, 2 * split)));
            c = kept;
        } else {
            m_latentShapes.push_back({c, h, w});
        }
    }
    m_topMean = register_parameter("top_mean", torch::zeros({1, c, 1, 1}));
    m_topLogScale = register_parameter("top_log_scale", torch::zeros({1, c, 1, 1}));
}

bool GlowNetImpl::initialized() const {
    return m_levels.front()->ptr<FlowStepImpl>(0)->initialized();
}

std::pair<torch::Tensor, torch::Tensor> GlowNetImpl::prior(size_t level, const torch::Tensor& h,
                                                           int64_t batch) {
    if (level + 1 == m_levels.size()) {
        const auto& s = m_latentShapes.back();
        return {m_topMean.expand({batch, s[0], s[1], s[2]}),
                m_topLogScale.expand({batch, s[0], s[1], s[2]})};
    }
    const torch::Tensor out = m_splitPriors[level]->forward(h);
    const int64_t half = out.size(1) / 2;
    return {out.narrow(1, 0, half), out.narrow(1, half, half)};
}

GlowNetImpl::Forward GlowNetImpl::forward(const torch::Tensor& y, bool initialize) {
    Forward f;
    const int64_t n = y.size(0);
    f.logdet = torch::zeros({n}, y.options());
    f.logPrior = torch::zeros({n}, y.options());
    torch::Tensor h = y;
    for (size_t level = 0; level < m_levels.size(); ++level) {
        h = squeeze2(h);
        for (const auto& step : *m_levels[level])
            h = step->as<FlowStepImpl>()->forward(h, f.logdet, initialize);
        torch::Tensor z = h;
        if (level + 1 < m_levels.size()) {
            const int64_t kept = h.size(1) / 2;
            z = h.narrow(1, kept, h.size(1) - kept);
            h = h.narrow(1, 0, kept);
        }
        auto [mean, logScale] = prior(level, h, n);
        f.logPrior = f.logPrior + gaussianLogProb(z, mean, logScale);
        f.eps.push_back((z - mean) * torch::exp(-logScale));
        f.z.push_back(z);
    }
    return f;
}

torch::Tensor GlowNetImpl::reverse(const std::vector<torch::Tensor>& z, bool eps,
                                   double temperature, std::vector<torch::Tensor>* zOut) {
    const size_t levels = m_levels.size();
    TORCH_CHECK(z.size() == levels, "glow reverse: one tensor per level expected");
    const int64_t n = z.front().size(0);
    if (zOut) zOut->assign(levels, torch::Tensor());
    torch::Tensor h;
    for (size_t level = levels; level-- > 0;) {
        torch::Tensor zl = z[level];
        if (eps) {  // the prior is conditional on h, the levels above inverted so far
            auto [mean, logScale] = prior(level, h, n);
            zl = mean + torch::exp(logScale) * temperature * zl;
        }
        if (zOut) (*zOut)[level] = zl;
        h = level + 1 == levels ? zl : torch::cat({h, zl}, 1);
        const auto& steps = *m_levels[level];
        for (size_t k = steps.size(); k-- > 0;) h = steps.ptr<FlowStepImpl>(k)->reverse(h);
        h = unsqueeze2(h);
    }
    return h;
}

// ---- model -----------------------------------------------------------------------------------

Glow::Glow(const GlowOptions& options) : FamilyModel(options, GlowNet(nullptr)) {
    if (m_options.levels == 0) m_options.levels = defaultLevels(m_options.shape);
    m_net = GlowNet(m_options);
    makeOptimizer();
}

void Glow::makeOptimizer() {
    m_optimizer = std::make_unique<torch::optim::Adam>(
        m_net->parameters(), torch::optim::AdamOptions(m_options.recipe.lr));
    m_average.reset(m_net->parameters(), m_options.recipe.ema);
}

Capabilities Glow::capabilities() const {
    Capabilities c;
    c.encode = c.decode = c.sample = c.exactLikelihood = c.exactEncode = true;
    return c;
}

void Glow::setLearningRate(double lr) {
    checkLearningRate(lr);
    m_options.recipe.lr = lr;  // trainStep applies it, through the schedule
}

void Glow::to(torch::Device device) {
    const bool moved = device != m_device;
    GenerativeModel::to(device);
    if (moved)  // Adam's moments start afresh on the new device; the weight average moved along
        m_optimizer = std::make_unique<torch::optim::Adam>(
            m_net->parameters(), torch::optim::AdamOptions(m_options.recipe.lr));
}

torch::Tensor Glow::toFlowInput(const torch::Tensor& x, const torch::Tensor& u) {
    const torch::Tensor k = torch::round((x + 1.0) * 127.5).clamp(0.0, 255.0);
    return (k + u) / kLevels - 0.5;
}

// At u = 1/2 the map is y = (127.5·(x + 1) + 1/2)/256 − 1/2 = x·127.5/256: exactly affine (no
// rounding), so that encode and decode invert each other on any input.
torch::Tensor Glow::toFlowInputCentred(const torch::Tensor& x) {
    return x * (127.5 / kLevels);
}

torch::Tensor Glow::fromFlowInputCentred(const torch::Tensor& y) {
    return y * (kLevels / 127.5);
}

// The flow itself is exact and unbounded: a latent far from the data decodes past the image range.
// Decoded images are clamped here, at the edge, so every caller gets [-1, 1] as documented while
// the flow's inverse stays exact for real data (whose decodes are inside the range).
torch::Tensor Glow::toImageRange(const torch::Tensor& x) {
    return x.clamp(-1.0, 1.0);
}

void Glow::initialize(const torch::Tensor& batch) {
    checkImageBatch(batch, "glow initialize");
    torch::NoGradGuard noGrad;
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    m_net->forward(toFlowInput(x, torch::rand_like(x)), /*initialize=*/true);
}

torch::Tensor Glow::negLogLikelihood(const torch::Tensor& y, GlowNetImpl::Forward* out) {
    GlowNetImpl::Forward f = m_net->forward(y);
    const double dims = double(m_options.shape.numel());
    // −log p_v(v) = −log p_y(y) + D·log 256, with log p_y = log p_z + log|det| (see glow.h).
    torch::Tensor nll = -(f.logPrior + f.logdet) + dims * std::log(kLevels);
    if (out) *out = std::move(f);
    return nll;
}

torch::Tensor Glow::encode(const torch::Tensor& x) {
    checkImageBatch(x, "glow encode");
    const GlowNetImpl::Forward f =
        m_net->forward(toFlowInputCentred(x.to(m_device, torch::kFloat)));
    std::vector<torch::Tensor> flat;
    for (const auto& z : f.z) flat.push_back(z.flatten(1));
    return torch::cat(flat, 1);
}

torch::Tensor Glow::decode(const torch::Tensor& z) {
    checkLatentBatch(z, "glow decode");
    const torch::Tensor flat = z.to(m_device, torch::kFloat);
    std::vector<torch::Tensor> levels;
    int64_t offset = 0;
    for (const auto& s : m_net->latentShapes()) {
        const int64_t size = s[0] * s[1] * s[2];
        levels.push_back(flat.narrow(1, offset, size).reshape({z.size(0), s[0], s[1], s[2]}));
        offset += size;
    }
    return toImageRange(fromFlowInputCentred(m_net->reverse(levels)));
}

std::pair<torch::Tensor, torch::Tensor> Glow::generate(int64_t n, double temperature,
                                                       uint64_t seed) {
    if (n < 0) throw ModelError("glow: cannot draw " + std::to_string(n) + " samples");
    checkTemperature(temperature);
    const ImageShape& s = m_options.shape;
    if (n == 0)
        return {torch::zeros({0, latentDim()}, torch::TensorOptions(m_device)),
                torch::zeros({0, s.channels, s.height, s.width}, torch::TensorOptions(m_device))};
    torch::NoGradGuard noGrad;
    // Drawn on the CPU from its own generator, so a seed gives the same noise on every device.
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const torch::Tensor noise = torch::randn({n, latentDim()}, gen, torch::kFloat).to(m_device);
    std::vector<torch::Tensor> eps;
    int64_t offset = 0;
    for (const auto& shape : m_net->latentShapes()) {
        const int64_t size = shape[0] * shape[1] * shape[2];
        eps.push_back(noise.narrow(1, offset, size).reshape({n, shape[0], shape[1], shape[2]}));
        offset += size;
    }
    std::vector<torch::Tensor> z;
    const torch::Tensor y = m_net->reverse(eps, /*eps=*/true, temperature, &z);
    std::vector<torch::Tensor> flat;
    for (const auto& zl : z) flat.push_back(zl.flatten(1));
    return {torch::cat(flat, 1), toImageRange(fromFlowInputCentred(y))};
}

torch::Tensor Glow::sample(int64_t n, double temperature, uint64_t seed) {
    return generate(n, temperature, seed).second;
}

torch::Tensor Glow::samplePrior(int64_t n, double temperature, uint64_t seed) {
    return generate(n, temperature, seed).first;
}

Metrics Glow::trainStep(const torch::Tensor& batch) {
    checkImageBatch(batch, "glow trainStep");
    if (!initialized()) initialize(batch);
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    m_net->train();
    setAdamLearningRate(*m_optimizer, m_options.recipe.learningRate(m_stepsTaken));
    const torch::Tensor nll = negLogLikelihood(toFlowInput(x, torch::rand_like(x))).mean();
    const double dims = double(m_options.shape.numel());
    const torch::Tensor bpd = nll / (dims * std::log(2.0));
    m_optimizer->zero_grad();
    bpd.backward();
    const double gradNorm = clippedStep(*m_optimizer, m_net->parameters(), m_options.recipe.clip);
    m_average.update();
    ++m_stepsTaken;
    Metrics m = readScalars({{"loss", nll}, {"bpd", bpd}});
    m["grad_norm"] = gradNorm;
    return m;
}

Metrics Glow::evaluate(const torch::Tensor& batch) {
    checkImageBatch(batch, "glow evaluate");
    torch::NoGradGuard noGrad;
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    at::Generator gen = at::detail::createCPUGenerator(kEvaluateSeed);
    const torch::Tensor u = torch::rand(x.sizes(), gen, torch::kFloat).to(m_device);
    GlowNetImpl::Forward f;
    const double nll = negLogLikelihood(toFlowInput(x, u), &f).mean().item<double>();
    const double dims = double(m_options.shape.numel());
    return {{"loss", nll},
            {"bpd", nll / (dims * std::log(2.0))},
            {"logdet", f.logdet.mean().item<double>()}};
}

void registerGlow(ModelRegistry& registry) {
    FamilyInfo info;
    info.title = "Glow";
    info.kind = ModelKind::Flow;
    info.temperatureMeaning = "\u03b5 scaled by T at every level, inside each level's prior";
    registry.add("glow", std::move(info),
                 [](const ModelConfig& config) -> std::unique_ptr<GenerativeModel> {
                     return std::make_unique<Glow>(GlowOptions::fromConfig(config));
                 });
}

}  // namespace le
