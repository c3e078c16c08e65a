#pragma once

// Glow (Kingma & Dhariwal 2018): a multi-scale normalizing flow with an exact likelihood and an
// exact inverse. Each level squeezes (C,H,W → 4C,H/2,W/2), runs K steps of flow (actnorm with a
// data-dependent init, an invertible 1×1 convolution, an affine coupling with a sigmoid scale as
// in openai/glow), and, except at the last level, splits off half of its channels as that level's
// latent z under a Gaussian whose mean and log-scale a zero-initialised conv predicts from the
// kept half. The top level's z has a learned per-channel Gaussian. No padding: 28×28 takes two
// levels (28→14→7), 32×32 three (32→16→8→4); height and width must be divisible by 2^levels.
//
// Data scale. Images arrive in [-1, 1] and are 8-bit: k = round(127.5·(x + 1)) ∈ {0..255}. The
// flow's input is y = (k + u)/256 − 1/2 with u ~ U[0, 1) while training and evaluating
// (uniform dequantisation), and the bin centre u = 1/2 for encode() (deterministic; encode and
// decode are an exact affine map of x then, so decode(encode(x)) == x for any x, 8-bit or not).
//
// Likelihood. The dequantised data v = k + u lives on [0, 256)^D and y = v/256 − 1/2, so
//   log p_v(v) = log p_y(y) − D·log 256            (the Jacobian of the scaling, |dy/dv| = 1/256)
//   log p_y(y) = log p_z(f(y)) + log|det ∂f/∂y|     (change of variables through the flow)
// and −E_u log p_v(k + u) ≥ −log P(k) bounds the discrete 8-bit likelihood (Theis et al. 2016):
//   loss = −log p_y(y) + D·log 256   nats per image,   bpd = loss / (D·ln 2)
// over the D = C·H·W real pixels (no padding, so nothing else is counted).
//
// Latent. latentDim() = C·H·W: every level's z flattened (level 1's split first, the top level
// last) and concatenated. samplePrior() draws top-down — the top z from its prior, then each
// split level's z from its prior conditioned on the level above inverted so far — and returns
// those z, so that decode(samplePrior(n, t, s)) equals sample(n, t, s) exactly (sample() is that
// same walk, returning the image). The latent is not standard normal: each level's z has its own
// learned (conditional) mean and scale.
//
// Metrics (per image, averaged over the batch):
//   loss      −log p_v of the dequantised image, nats (the training objective, in bits per dim)
//   bpd       loss / (D·ln 2); evaluate() uses a fixed-seed dequantisation, so it is repeatable
//   logdet    evaluate only: log|det ∂f/∂y| of the flow, nats
//   grad_norm trainStep only: the gradient norm before clipping
//
// Config keys: channels, height, width, levels (default: 3 when height and width divide by 8,
// else 2 when they divide by 4, else 1; 1..5), steps (K flow steps per level, default 4, 1..32),
// hidden (coupling network width, default 64, 4..512), and the optimiser recipe's keys
// (training_recipe.h; defaults lr 1e-3, warmup 20, no cosine, clip 50, ema 0.999).
//
// Sampling temperature: 0.7 by default (defaultTemperature), as the Glow paper samples; at 1 a
// flow this small draws many images from the thin tails its training saw least.

#include "models/family_model.h"
#include "models/generative_model.h"
#include "models/training_recipe.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace le {

struct GlowOptions {
    ImageShape shape;
    int64_t levels = 0;  // 0 = the default for the shape
    int64_t steps = 4;
    int64_t hidden = 64;
    OptimiserRecipe recipe = defaultRecipe();

    static OptimiserRecipe defaultRecipe();

    static GlowOptions fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;
};

// Per-channel affine normalisation; bias and log-scale set from the first batch it sees while
// initialising (zero mean, unit variance per channel), then learned.
class ActNormImpl : public torch::nn::Module {
public:
    explicit ActNormImpl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x, torch::Tensor& logdet, bool initialize);
    torch::Tensor reverse(const torch::Tensor& y);
    bool initialized() const;

private:
    torch::Tensor m_bias, m_logScale, m_initialized;
};
TORCH_MODULE(ActNorm);

// Invertible 1×1 convolution with a plain C×C weight (random rotation at start); the log-det
// comes from slogdet and the inverse from a float64 inversion, exact to float32 rounding.
class InvConv1x1Impl : public torch::nn::Module {
public:
    explicit InvConv1x1Impl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x, torch::Tensor& logdet);
    torch::Tensor reverse(const torch::Tensor& y);

private:
    // W⁻¹ for reverse(): a float64 inversion per flow step is a third of a decode's time, and the
    // weights only change when trained or loaded. Keyed by the weight's storage and version.
    const torch::Tensor& inverse();

    torch::Tensor m_weight;
    torch::Tensor m_inverse;
    const void* m_inverseOf = nullptr;
    int64_t m_inverseVersion = -1;
};
TORCH_MODULE(InvConv1x1);

// A 3×3 conv that starts at zero, with a learned per-channel output scale exp(3·logs).
class ZeroConv2dImpl : public torch::nn::Module {
public:
    ZeroConv2dImpl(int64_t in, int64_t out);
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::nn::Conv2d m_conv{nullptr};
    torch::Tensor m_logScale;
};
TORCH_MODULE(ZeroConv2d);

// Affine coupling: the second half of the channels is shifted and scaled by sigmoid(· + 2),
// both predicted from the first half; starts as a constant scale, i.e. nearly the identity.
class AffineCouplingImpl : public torch::nn::Module {
public:
    AffineCouplingImpl(int64_t channels, int64_t hidden);
    torch::Tensor forward(const torch::Tensor& x, torch::Tensor& logdet);
    torch::Tensor reverse(const torch::Tensor& y);

private:
    std::pair<torch::Tensor, torch::Tensor> shiftAndScale(const torch::Tensor& xa);
    torch::nn::Sequential m_net{nullptr};
};
TORCH_MODULE(AffineCoupling);

class FlowStepImpl : public torch::nn::Module {
public:
    FlowStepImpl(int64_t channels, int64_t hidden);
    torch::Tensor forward(const torch::Tensor& x, torch::Tensor& logdet, bool initialize);
    torch::Tensor reverse(const torch::Tensor& y);
    bool initialized() const { return m_actNorm->initialized(); }

private:
    ActNorm m_actNorm{nullptr};
    InvConv1x1 m_invConv{nullptr};
    AffineCoupling m_coupling{nullptr};
};
TORCH_MODULE(FlowStep);

// The whole flow on the model's input scale y (see the header comment).
class GlowNetImpl : public torch::nn::Module {
public:
    explicit GlowNetImpl(const GlowOptions& options);

    struct Forward {
        std::vector<torch::Tensor> z;    // per level (level 1's split first, the top last)
        std::vector<torch::Tensor> eps;  // the same, standardised by each level's prior
        torch::Tensor logdet;            // N: log|det ∂z/∂y|
        torch::Tensor logPrior;          // N: log p_z(z), the conditional priors summed
    };
    Forward forward(const torch::Tensor& y, bool initialize = false);
    // Inverse: per-level z -> y. With `eps` true the tensors are standardised noise, scaled by
    // `temperature` and mapped through each level's prior on the way down; `zOut` (if given)
    // receives the z this produced.
    torch::Tensor reverse(const std::vector<torch::Tensor>& z, bool eps = false,
                          double temperature = 1.0, std::vector<torch::Tensor>* zOut = nullptr);

    // Shape (C, H, W) of each level's z, in the order of Forward::z.
    const std::vector<std::vector<int64_t>>& latentShapes() const { return m_latentShapes; }
    bool initialized() const;

private:
    std::pair<torch::Tensor, torch::Tensor> prior(size_t level, const torch::Tensor& h,
                                                  int64_t batch);

    std::vector<torch::nn::ModuleList> m_levels;  // FlowSteps per level
    std::vector<ZeroConv2d> m_splitPriors;        // one per level but the last
    torch::Tensor m_topMean, m_topLogScale;       // 1×C×1×1 each
    std::vector<std::vector<int64_t>> m_latentShapes;
};
TORCH_MODULE(GlowNet);

class Glow final : public FamilyModel<GlowOptions, GlowNet> {
public:
    explicit Glow(const GlowOptions& options);

    std::string family() const override { return "glow"; }
    Capabilities capabilities() const override;
    int64_t latentDim() const override { return m_options.shape.numel(); }

    torch::Tensor encode(const torch::Tensor& x) override;  // exact, at the bins' centres
    torch::Tensor decode(const torch::Tensor& z) override;  // exact inverse
    torch::Tensor sample(int64_t n, double temperature, uint64_t seed) override;
    torch::Tensor samplePrior(int64_t n, double temperature, uint64_t seed) override;
    double defaultTemperature() const override { return 0.7; }

    Metrics trainStep(const torch::Tensor& batch) override;
    Metrics evaluate(const torch::Tensor& batch) override;

    void setLearningRate(double lr) override;
    void to(torch::Device device) override;

    // Data-dependent actnorm init from a batch in [-1, 1]; trainStep does it on its first batch.
    void initialize(const torch::Tensor& batch);
    bool initialized() const { return m_net->initialized(); }
    // The flow on the model's input scale y (N×C×H×W), for likelihood checks.

    // The map x in [-1, 1] -> y with dequantisation offset u (a tensor broadcastable to x, in
    // [0, 1)), and the inverse of the map at u = 1/2.
    static torch::Tensor toFlowInput(const torch::Tensor& x, const torch::Tensor& u);
    static torch::Tensor toFlowInputCentred(const torch::Tensor& x);
    static torch::Tensor fromFlowInputCentred(const torch::Tensor& y);
    static torch::Tensor toImageRange(const torch::Tensor& x);

private:
    std::pair<torch::Tensor, torch::Tensor> generate(int64_t n, double temperature, uint64_t seed);
    torch::Tensor negLogLikelihood(const torch::Tensor& y, GlowNetImpl::Forward* out = nullptr);
    void makeOptimizer();

    std::unique_ptr<torch::optim::Adam> m_optimizer;
};

void registerGlow(ModelRegistry& registry);

}  // namespace le
