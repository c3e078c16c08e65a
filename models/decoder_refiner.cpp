#include "models/decoder_refiner.h"

#include "models/vae.h"  // discretizedLogisticLogProb

#include <cmath>

namespace le {

namespace {

// R1 every this many discriminator steps (lazy, as the DCGAN family's), scaled up to match.
constexpr int64_t kR1Interval = 4;

// A patch discriminator: one logit per overlapping patch of about 10×10 pixels.
torch::nn::Sequential patchDiscriminator(int64_t channels, int64_t hidden) {
    namespace nn = torch::nn;
    const auto conv = [](int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad) {
        return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(pad));
    };
    const auto leaky = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); };
    return nn::Sequential(conv(channels, hidden, 4, 2, 1), leaky(),
                          conv(hidden, 2 * hidden, 4, 2, 1), leaky(), conv(2 * hidden, 1, 3, 1, 1));
}

// VQGAN's Adam, for both sides.
torch::optim::AdamOptions adam(double lr) {
    return torch::optim::AdamOptions(lr).betas({0.5, 0.9});
}

}  // namespace

// ---- options ---------------------------------------------------------------------------------

OptimiserRecipe DecoderRefinement::defaultRecipe() {
    OptimiserRecipe r;
    r.lr = 2e-4;  // VQGAN's rate for the decoder and the discriminator alike
    return r;
}

DecoderRefinement DecoderRefinement::fromConfig(const ModelConfig& config,
                                                const std::string& family, int64_t aeSteps) {
    const auto fail = [&](const std::string& what) { throw ModelError(family + ": " + what); };
    DecoderRefinement o;
    o.from = config.getIntIn("refine_from", o.from, 0, 100000000);
    if (o.enabled() && o.from < aeSteps)
        fail("refine_from (" + std::to_string(o.from) +
             ") must come after the autoencoder's ae_steps (" + std::to_string(aeSteps) +
             "), or be 0");
    o.adv = config.getDouble("refine_adv", o.adv);
    if (!(o.adv >= 0.0 && std::isfinite(o.adv)))
        fail("refine_adv must be >= 0, got " + config.getString("refine_adv", ""));
    o.r1 = config.getDouble("refine_r1", o.r1);
    if (!(o.r1 >= 0.0 && std::isfinite(o.r1)))
        fail("refine_r1 must be >= 0, got " + config.getString("refine_r1", ""));
    o.discHidden = config.getIntIn("refine_disc_hidden", o.discHidden, 8, 256);
    o.recipe = o.recipe.read(config, family, "refine_");
    return o;
}

void DecoderRefinement::write(ModelConfig& config) const {
    if (!enabled()) return;  // files that never refine keep the config they always had
    config.set("refine_from", from);
    config.set("refine_adv", adv);
    config.set("refine_r1", r1);
    config.set("refine_disc_hidden", discHidden);
    recipe.write(config, "refine_");
}

// ---- the refiner -----------------------------------------------------------------------------

DecoderRefiner::DecoderRefiner(const DecoderRefinement& options, int64_t channels)
    : m_options(options), m_discriminator(patchDiscriminator(channels, options.discHidden)) {}

void DecoderRefiner::makeOptimizers(const std::vector<torch::Tensor>& decoderParameters) {
    m_decoderOptimizer =
        std::make_unique<torch::optim::Adam>(decoderParameters, adam(m_options.recipe.lr));
    m_dOptimizer = std::make_unique<torch::optim::Adam>(m_discriminator->parameters(),
                                                        adam(m_options.recipe.lr));
}

void DecoderRefiner::to(torch::Device device) {
    m_discriminator->to(device);
}

// Reals towards 1, reconstructions towards 0, per patch, with R1 on each real image's mean
// patch logit.
void DecoderRefiner::discriminatorStep(const torch::Tensor& real, const torch::Tensor& fake,
                                       Metrics& out) {
    const bool penalise = m_options.r1 > 0.0 && m_dSteps % kR1Interval == 0;
    const torch::Tensor realIn = penalise ? real.detach().requires_grad_(true) : real;
    const torch::Tensor realLogits = m_discriminator->forward(realIn);
    const torch::Tensor fakeLogits = m_discriminator->forward(fake);
    const torch::Tensor dLoss =
        torch::softplus(-realLogits).mean() + torch::softplus(fakeLogits).mean();
    torch::Tensor total = dLoss;
    if (penalise) {
        // Each real image's score: its mean patch logit.
        const torch::Tensor r1 = r1Penalty(realLogits.flatten(1).mean(1), realIn);
        m_lastR1 = r1.item<double>();
        total = total + 0.5 * m_options.r1 * double(kR1Interval) * r1;
    }
    m_dOptimizer->zero_grad();
    total.backward();
    clippedStep(*m_dOptimizer, m_dOptimizer->param_groups()[0].params(), m_options.recipe.clip);
    ++m_dSteps;
    const Metrics d = readScalars({{"d_loss", dLoss},
                                   {"d_real", torch::sigmoid(realLogits).mean()},
                                   {"d_fake", torch::sigmoid(fakeLogits).mean()}});
    for (const auto& [name, value] : d) out[name] = value;
    out["r1"] = m_lastR1;
}

Metrics DecoderRefiner::step(const torch::Tensor& x, const torch::Tensor& recon,
                             const torch::Tensor& lastLayerWeight, const torch::Tensor& logScale,
                             double lr) {
    setAdamLearningRate(*m_decoderOptimizer, lr);
    setAdamLearningRate(*m_dOptimizer, lr);
    Metrics out;
    discriminatorStep(x, recon.detach(), out);

    const torch::Tensor l1 = (recon - x).abs().mean();
    const torch::Tensor ganG = torch::softplus(-m_discriminator->forward(recon)).mean();
    // The GAN term's gradient at the last layer scaled to the reconstruction's, so that neither
    // swamps the other whatever their raw sizes.
    const torch::Tensor gL1 = torch::autograd::grad({l1}, {lastLayerWeight}, {}, true)[0];
    const torch::Tensor gGan = torch::autograd::grad({ganG}, {lastLayerWeight}, {}, true)[0];
    const torch::Tensor weight =
        (gL1.norm() / (gGan.norm() + 1e-4)).clamp(0.0, 1e4).detach() * m_options.adv;
    const torch::Tensor loss = l1 + weight * ganG;
    const torch::Tensor scaleNll = -discretizedLogisticLogProb(x, recon.detach(), logScale).mean();
    m_decoderOptimizer->zero_grad();
    (loss + scaleNll).backward();
    clippedStep(*m_decoderOptimizer, m_decoderOptimizer->param_groups().front().params(),
                m_options.recipe.clip);
    const Metrics g = readScalars({{"loss", loss},
                                   {"recon_l1", l1},
                                   {"recon_mse", (recon - x).pow(2).mean()},
                                   {"gan_g", ganG},
                                   {"adv_weight", weight}});
    for (const auto& [name, value] : g) out[name] = value;
    return out;
}

}  // namespace le
