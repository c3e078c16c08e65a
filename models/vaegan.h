#pragma once

// VAE-GAN (Larsen et al. 2016, "Autoencoding beyond pixels using a learned similarity metric"):
// the VAE's encoder and decoder (VaeNet, conv arch) with a discriminator whose features measure
// how far a reconstruction is from its image. Images in [-1, 1]; standard normal prior on z.
//
// Losses per image, as in the paper (x̃ = Dec(z), z ~ q(z|x); x_p = Dec(z_p), z_p ~ N(0, I);
// Dis_l the discriminator's last convolutional features):
//   L_prior = KL(q(z|x) ‖ N(0, I))
//   L_llike = ½‖Dis_l(x̃) − Dis_l(x)‖², a Gaussian in Dis_l's features, summed over them
//   L_GAN   = log D(x) + log(1 − D(x̃)) + log(1 − D(x_p))
// Encoder: β·L_prior + L_llike (never the GAN loss). Decoder: γ·L_llike plus the non-saturating
// GAN loss on both x̃ and x_p. Discriminator: the GAN loss on x, x̃ and x_p, with DCGAN's lazy R1
// penalty on reals. The weighting γ: L_llike sums over a few thousand features and is tens to
// hundreds of nats while each GAN term is about one, so γ = 0.02 (default) lets the GAN term shape
// the decoder's textures and the feature reconstruction keep it on the input (the paper tunes γ
// for the same balance).
//
// Bound: the decoder is not trained as a pixel likelihood, so an honest bound needs one: a
// discretized logistic (vae.h) around the decoder's output with one learned scale, trained on the
// reconstructions alone (the decoder does not see that gradient). evaluate's bpd is the negative
// ELBO under it: a true bound on −log p(x), looser than the VAE's.
//
// Metrics:
//   trainStep: loss (= the encoder's objective β·kl + llike), kl, llike, gan_g (the decoder's
//              GAN terms), d_loss, d_real / d_fake (mean D probability on reals / on both fakes),
//              recon_mse, r1
//   evaluate:  loss (negative ELBO, nats), nll, kl, bpd, recon_mse (of decode(encode(x))), llike,
//              d_real / d_fake (held-out reals against reconstructions and prior samples)
//
// Config keys: channels, height, width, latent (default 32, 1..512), hidden (base channel count,
// default 32, 4..256), beta (1.0, > 0), gamma (0.02, > 0), beta1 (0.5), r1_gamma (1.0, >= 0),
// r1_interval (4, 1..64), and the optimiser recipe's keys (lr 2e-4, ema 0.999: the average of the
// encoder and decoder, which encode, decode, sampling and checkpoints use).

#include "models/family_model.h"
#include "models/generative_model.h"
#include "models/training_recipe.h"
#include "models/vae.h"

#include <memory>
#include <string>

namespace le {

struct VaeGanOptions {
    ImageShape shape;
    int64_t latent = 32;
    int64_t hidden = 32;
    double beta = 1.0;
    double gamma = 0.02;
    double beta1 = 0.5;
    double r1Gamma = 1.0;
    int64_t r1Interval = 4;
    OptimiserRecipe recipe = defaultRecipe();

    static VaeGanOptions fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;
    static OptimiserRecipe defaultRecipe();
    VaeOptions vaeOptions() const;  // the encoder and decoder's
};

// The VAE's networks and the discriminator, in one module tree for checkpoints.
class VaeGanNetImpl : public torch::nn::Module {
public:
    explicit VaeGanNetImpl(const VaeGanOptions& options);

    // N×C×H×W -> (the last conv block's features, flattened; one logit per image).
    std::pair<torch::Tensor, torch::Tensor> discriminate(const torch::Tensor& x);

    VaeNet vae{nullptr};
    torch::nn::Sequential features{nullptr};
    torch::nn::Linear head{nullptr};
};
TORCH_MODULE(VaeGanNet);

class VaeGan final : public FamilyModel<VaeGanOptions, VaeGanNet> {
public:
    explicit VaeGan(const VaeGanOptions& options);

    std::string family() const override { return "vaegan"; }
    Capabilities capabilities() const override;
    int64_t latentDim() const override { return m_options.latent; }

    torch::Tensor encode(const torch::Tensor& x) override;  // the posterior mean
    torch::Tensor decode(const torch::Tensor& z) override;
    torch::Tensor samplePrior(int64_t n, double temperature, uint64_t seed) override;

    // One discriminator step, then one encoder and decoder step, on the batch.
    Metrics trainStep(const torch::Tensor& batch) override;
    Metrics evaluate(const torch::Tensor& batch) override;

    void setLearningRate(double lr) override;
    void to(torch::Device device) override;

private:
    void makeOptimizers();
    void discriminatorStep(const torch::Tensor& real, const torch::Tensor& recon,
                           const torch::Tensor& prior, Metrics& out);

    std::vector<torch::Tensor> m_encoderParams, m_decoderParams, m_scaleParams;
    std::unique_ptr<torch::optim::Adam> m_vaeOptimizer, m_dOptimizer;
    int64_t m_dSteps = 0;
    double m_lastR1 = 0.0;
};

void registerVaeGan(ModelRegistry& registry);

}  // namespace le
