#pragma once

// The VQ-VAE families' optional last phase: the decoder refined adversarially as VQGAN does
// (Esser et al. 2021, "Taming Transformers for High-Resolution Image Synthesis"). The encoder,
// codebooks and priors stay frozen, so the codes, and with them the priors' likelihoods, do not
// move; only the decoder learns, from an L1 reconstruction term plus a patch discriminator's
// non-saturating GAN loss under VQGAN's adaptive weight λ = ‖∇L1‖ / ‖∇L_GAN‖ at the decoder's
// last layer, times `refine_adv`. Discriminator: conv 4×4/2 twice, then a 3×3 to one logit per
// patch of about 10×10 pixels, LeakyReLU(0.2); the DCGAN family's lazy R1 penalty on reals.
//
// The discriminator lives beside the family's network and is not saved, so a refined file opens
// as any other of its family, and a run continued with --init starts the discriminator afresh.
//
// Config keys (a family reads them with its own): refine_from (the step the phase starts at; 0,
// the default, never; at least the family's ae_steps), refine_adv (0.5, ≥ 0), refine_r1 (1.0,
// ≥ 0), refine_disc_hidden (64, 8..256) and the optimiser recipe's keys with the prefix "refine_"
// (lr 2e-4, counted from refine_from; refine_ema, when above 0, is the decay of the family's
// weight average, which then covers the decoder as well as the priors; 0 keeps the priors' decay).
// Only a refining model writes them.

#include "models/generative_model.h"
#include "models/training_recipe.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace le {

struct DecoderRefinement {
    int64_t from = 0;
    double adv = 0.5;
    double r1 = 1.0;
    int64_t discHidden = 64;
    OptimiserRecipe recipe = defaultRecipe();

    static OptimiserRecipe defaultRecipe();
    bool enabled() const { return from > 0; }
    // The decay of a refining family's one weight average (priors and decoder).
    double averageDecay(double priorDecay) const {
        return recipe.ema > 0.0 ? recipe.ema : priorDecay;
    }
    // ModelError naming the family for a value out of range or a start before `aeSteps`.
    static DecoderRefinement fromConfig(const ModelConfig& config, const std::string& family,
                                        int64_t aeSteps);
    void write(ModelConfig& config) const;  // nothing unless enabled
};

class DecoderRefiner {
public:
    DecoderRefiner(const DecoderRefinement& options, int64_t channels);

    // The decoder's side: its parameters and the likelihood's scale parameter.
    void makeOptimizers(const std::vector<torch::Tensor>& decoderParameters);
    void to(torch::Device device);

    // One step of both sides at learning rate `lr`: the discriminator on x against `recon`, then
    // the decoder (whose graph `recon` carries, ending in `lastLayerWeight`) on L1 + λ·GAN, and
    // the likelihood's scale (`logScale`, its optimiser's last parameter) fitted to the residuals
    // alone, as in the autoencoder phase. Metrics: loss (L1 + λ·GAN), recon_l1, recon_mse,
    // gan_g, adv_weight, d_loss, d_real, d_fake, r1.
    Metrics step(const torch::Tensor& x, const torch::Tensor& recon,
                 const torch::Tensor& lastLayerWeight, const torch::Tensor& logScale, double lr);

private:
    void discriminatorStep(const torch::Tensor& real, const torch::Tensor& fake, Metrics& out);

    DecoderRefinement m_options;
    torch::nn::Sequential m_discriminator{nullptr};
    std::unique_ptr<torch::optim::Adam> m_decoderOptimizer, m_dOptimizer;
    int64_t m_dSteps = 0;
    double m_lastR1 = 0.0;
};

}  // namespace le
