#pragma once

// DCGAN (Radford et al. 2016): a generator of ConvTranspose2d + BatchNorm + ReLU layers ending in
// tanh, and a discriminator of strided convolutions + LeakyReLU ending in one logit. Images in
// [-1, 1]; standard normal prior on z.
//
// Supported images: 1 or 3 channels, square 28×28 (7→14→28), 32×32 (4→8→16→32) or 64×64
// (4→8→16→32→64).
//
// Loss: the non-saturating GAN loss (Goodfellow et al. 2014) with an R1 gradient penalty on real
// images (Mescheder et al. 2018), applied lazily every few D steps with the weight scaled up to
// match (StyleGAN2). R1 keeps the discriminator from growing arbitrarily sharp around the data,
// the usual reason a short CPU run collapses; it needs no extra hyper-parameters beyond a small
// gamma, and unlike label smoothing it does not bias the optimum. The discriminator has no
// BatchNorm: R1's double backward through batch statistics would couple the penalty across
// images.
//
// Encoder ("find z with another model"): after the generator has trained, E: image → z learns on
// generated pairs (z ~ N(0, I), x = G(z) with G frozen in eval mode) by MSE on z. It is an
// amortised guess; invert() refines it by optimisation. encode() is available only once the
// encoder has taken training steps (the count is a buffer, "encoder_steps", so checkpoints keep
// it); before that, capabilities().encode is false and encode() throws.
//
// Metrics:
//   trainStep: loss (= g_loss), g_loss (non-saturating, −log D(G(z))), d_loss (without the
//              penalty), d_real / d_fake (mean D probability on the batch's reals / its fakes),
//              r1 (the last computed penalty, before weighting)
//   evaluate:  d_real (D on the held-out batch), d_fake (D on as many fresh samples from a fixed
//              seed), loss (= g_loss on those samples), d_loss. These are the adversarial game's
//              own numbers, not a likelihood or a quality measure: they say whether D separates
//              held-out reals from fresh fakes (d_real ≫ d_fake: D wins; both near 0.5: neither).
//              With a trained encoder also enc_z_mse (z error of E on fresh samples).
//   trainEncoderStep: loss (= z_mse), z_mse, x_mse (pixel error of G(E(G(z))) against G(z)).
//
// Config keys: channels, height, width, latent (default 32, 1..512), hidden (base channel count,
// default 32, 4..256), beta1 (0.5, Adam's first-moment decay, in [0, 1)), r1_gamma (1.0, >= 0;
// 0 disables the penalty), r1_interval (4, 1..64: D steps between penalties), encoder_lr (1e-3),
// and the optimiser recipe's keys for G and D (training_recipe.h; defaults lr 2e-4, no warm-up,
// no cosine, no clip, ema 0.999: the generator's weight average, which sampling and decoding use
// once a checkpoint is saved).

#include "models/family_model.h"
#include "models/generative_model.h"
#include "models/training_recipe.h"

#include <memory>
#include <string>

namespace le {

struct DcganOptions {
    ImageShape shape;
    int64_t latent = 32;
    int64_t hidden = 32;
    OptimiserRecipe recipe = defaultRecipe();
    double beta1 = 0.5;
    double r1Gamma = 1.0;
    int64_t r1Interval = 4;
    double encoderLr = 1e-3;

    static DcganOptions fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;
    static OptimiserRecipe defaultRecipe();
};

// The three networks and the encoder's training count, in one module tree for checkpoints.
class DcganNetImpl : public torch::nn::Module {
public:
    explicit DcganNetImpl(const DcganOptions& options);

    torch::Tensor generate(const torch::Tensor& z);      // N×latent -> N×C×H×W in [-1, 1]
    torch::Tensor discriminate(const torch::Tensor& x);  // N×C×H×W -> N logits
    torch::Tensor encodeLatent(const torch::Tensor& x);  // N×C×H×W -> N×latent

    torch::nn::Sequential generator{nullptr};
    torch::nn::Sequential discriminator{nullptr};
    torch::nn::Sequential encoder{nullptr};
    torch::Tensor encoderSteps;  // int64 [1]

private:
    int64_t m_latent;
};
TORCH_MODULE(DcganNet);

class Dcgan final : public FamilyModel<DcganOptions, DcganNet> {
public:
    explicit Dcgan(const DcganOptions& options);

    std::string family() const override { return "dcgan"; }
    Capabilities capabilities() const override;
    int64_t latentDim() const override { return m_options.latent; }

    // The encoder's amortised guess; throws ModelError until the encoder has trained.
    torch::Tensor encode(const torch::Tensor& x) override;
    torch::Tensor decode(const torch::Tensor& z) override;
    torch::Tensor samplePrior(int64_t n, double temperature, uint64_t seed) override;

    // One D step then one G step on the batch.
    Metrics trainStep(const torch::Tensor& batch) override;
    Metrics evaluate(const torch::Tensor& batch) override;
    // One step of the encoder on batchSize fresh generated pairs; the generator is not changed.
    bool hasEncoderTraining() const override { return true; }
    Metrics trainEncoderStep(int64_t batchSize) override;
    bool encoderTrained() const;

    // Adam on z from options.starts seeded random starts (plus the encoder's guess when asked
    // and trained), all in one batch; the generator is frozen and in eval mode.
    InversionResult invert(const torch::Tensor& target, const InversionOptions& options,
                           const InversionProgress& progress) override;

    void setLearningRate(double lr) override;  // G and D
    void to(torch::Device device) override;

private:
    void makeOptimizers();

    std::unique_ptr<torch::optim::Adam> m_gOptimizer, m_dOptimizer, m_eOptimizer;
    int64_t m_dSteps = 0;
    double m_lastR1 = 0.0;
};

void registerDcgan(ModelRegistry& registry);

}  // namespace le
