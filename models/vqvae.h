#pragma once

// VQ-VAE (van den Oord et al. 2017) with a PixelCNN prior over its code grid — the two-stage idea
// VQ-VAE-2 scales up. An encoder maps the image to an H/4 × W/4 grid of D-dim vectors, each
// replaced by its nearest code in a K-entry codebook (straight-through gradients); the decoder
// renders the quantised grid. The codebook follows the encoder outputs by exponential moving
// averages (no codebook loss) and restarts dead codes on encoder outputs of the current batch.
//
// Two phases in one model, switched by step count: the first `ae_steps` train steps train the
// encoder, codebook and decoder (MSE + β·commitment); the steps after that train the prior — a
// gated PixelCNN over code indices, the same network as the PixelCNN family — on the codes of
// the training batches, with the autoencoder frozen. An optional third phase, from step
// `refine_from`, refines the decoder adversarially as VQGAN does, on the frozen codes
// (decoder_refiner.h); the weight average, when the prior keeps one, then covers the decoder too.
//
// Latents. encodeCodes()/decodeCodes() work on the grid of indices (N×h×w int64); encode() and
// decode() on the quantised embeddings flattened (N × D·h·w), so that interpolation and the
// latent map work in the continuous space the decoder reads. sample() and sampler() run the prior
// (code by code; the same stepping API as the PixelCNN) and decode the grid.
//
// Likelihood. The code is a deterministic function of x, so −log p(x) ≤ −log p(x|codes) −
// log p(codes): the reconstruction term under a discretized logistic (as the VAE; a learned
// global scale, fitted to the decoder's residuals) plus the prior's exact NLL of the codes.
//
// Metrics (per image): loss (phase 1: recon_mse + β·commit per pixel; phase 2: prior nats),
// recon_mse, commit, perplexity (of code usage in the batch), dead_codes (training), phase
// (1 or 2); evaluate: recon_nll and prior_nll (nats), bpd (their sum over D·ln 2), loss (that
// sum in nats), recon_mse, perplexity.
//
// Config keys: channels, height, width (divisible by 4), hidden (conv width, 64, 8..256), codes
// (K, 64, 2..1024), code_dim (D, 16, 1..256), beta (0.25, ≥ 0), decay (EMA, 0.99, in (0, 1)),
// ae_steps (3000, ≥ 0), prior_hidden (64), prior_layers (6), prior_kernel (3), the optimiser
// recipe's keys for the autoencoder (training_recipe.h; lr 1e-3, nothing else by default) and the
// same keys prefixed "prior_" for the prior (prior_lr 1e-3, prior_warmup 50, prior_clip 5,
// prior_ema 0.999: the prior samples with its weight average), and the refinement's keys
// (decoder_refiner.h). Each phase's schedule counts its own steps.

#include "models/decoder_refiner.h"
#include "models/family_model.h"
#include "models/generative_model.h"
#include "models/layers.h"
#include "models/pixelcnn.h"
#include "models/training_recipe.h"

#include <memory>
#include <string>

namespace le {

struct VqVaeOptions {
    ImageShape shape;
    int64_t hidden = 64;
    int64_t codes = 64;
    int64_t codeDim = 16;
    double beta = 0.25;
    double decay = 0.99;
    int64_t aeSteps = 3000;
    int64_t priorHidden = 64;
    int64_t priorLayers = 6;
    int64_t priorKernel = 3;
    OptimiserRecipe recipe;  // the autoencoder's: lr 1e-3
    OptimiserRecipe priorRecipe = defaultPriorRecipe();
    DecoderRefinement refine;

    static OptimiserRecipe defaultPriorRecipe();

    static VqVaeOptions fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;
    int64_t gridHeight() const { return shape.height / 4; }
    int64_t gridWidth() const { return shape.width / 4; }
};

// x + 1×1(ReLU(3×3(ReLU(x)))), the VQ-VAE paper's residual block (VQ-VAE and VQ-VAE-2).
class ResidualBlockImpl : public torch::nn::Module {
public:
    explicit ResidualBlockImpl(int64_t channels);
    torch::Tensor forward(const torch::Tensor& x);

private:
    torch::nn::Conv2d m_conv3{nullptr}, m_conv1{nullptr};
};
TORCH_MODULE(ResidualBlock);

// exp(entropy) of the code usage in `indices`: how many of the K codes are effectively in use.
double codePerplexity(const torch::Tensor& indices, int64_t codes);

// A K×D codebook kept by exponential moving averages of the encoder outputs assigned to each code.
class CodebookImpl : public torch::nn::Module {
public:
    CodebookImpl(int64_t codes, int64_t dim, double decay);

    // z: N×D×h×w -> indices N×h×w (nearest code).
    torch::Tensor nearest(const torch::Tensor& z) const;
    // indices N×h×w -> N×D×h×w.
    torch::Tensor lookup(const torch::Tensor& indices) const;
    // Moves the codes towards the means of the vectors assigned to them (training only); restarts
    // codes whose usage has decayed below a threshold on random vectors of z. Returns how many
    // were restarted.
    int64_t update(const torch::Tensor& z, const torch::Tensor& indices);
    // Sets every code to a random vector of z (the first training batch).
    void initializeFrom(const torch::Tensor& z);
    bool initialized() const { return m_initialized.item<bool>(); }
    // Moving-average count of the vectors each code received per batch (K).
    torch::Tensor usage() const { return m_clusterSize; }

private:
    double m_decay;
    torch::Tensor m_embedding, m_clusterSize, m_embeddingSum, m_initialized;
};
TORCH_MODULE(Codebook);

class VqVaeNetImpl : public torch::nn::Module {
public:
    explicit VqVaeNetImpl(const VqVaeOptions& options);

    torch::Tensor encodeContinuous(const torch::Tensor& x);  // N×D×h×w, before quantising
    torch::Tensor decode(const torch::Tensor& q);            // N×D×h×w -> image in [-1, 1]
    torch::Tensor logScale() const;
    // What the refinement trains (with the likelihood's scale); the decoder's last layer's
    // weight, where it balances its two losses.
    std::vector<torch::Tensor> decoderParameters();
    torch::Tensor lastDecoderWeight() const { return m_lastDecoderLayer->weight; }

    Codebook codebook{nullptr};
    torch::Tensor stepsTaken;  // a buffer, so that the phase survives a save and load
    PixelCnnNet prior{nullptr};

private:
    torch::nn::Sequential m_encoder{nullptr}, m_decoder{nullptr};
    TransposedConv2d m_lastDecoderLayer{nullptr};
    torch::Tensor m_logScale;
};
TORCH_MODULE(VqVaeNet);

class VqVae final : public FamilyModel<VqVaeOptions, VqVaeNet>, public CodeGridModel {
public:
    explicit VqVae(const VqVaeOptions& options);

    std::string family() const override { return "vqvae"; }
    Capabilities capabilities() const override;
    int64_t latentDim() const override;

    torch::Tensor encode(const torch::Tensor& x) override;  // quantised embeddings, flattened
    torch::Tensor decode(const torch::Tensor& z) override;
    torch::Tensor sample(int64_t n, double temperature, uint64_t seed) override;
    // Anchors: a code grid (h×w or 1×h×w int64); the mask h×w, true where kept.
    std::unique_ptr<AutoregressiveSampler> sampler(const SamplerOptions& options) override;

    Metrics trainStep(const torch::Tensor& batch) override;
    Metrics evaluate(const torch::Tensor& batch) override;

    void setLearningRate(double lr) override;
    void to(torch::Device device) override;
    // Also moves the phase (autoencoder, prior, refinement), which the steps decide.
    void setStepsTaken(int64_t steps) override;

    CodeGridModel* codeGrid() override { return this; }
    int64_t codeCount() const override { return m_options.codes; }
    int64_t gridHeight() const override { return m_options.gridHeight(); }
    int64_t gridWidth() const override { return m_options.gridWidth(); }
    torch::Tensor encodeCodes(const torch::Tensor& x) override;      // N×h×w int64
    torch::Tensor decodeCodes(const torch::Tensor& codes) override;  // N×h×w -> images
    torch::Tensor codeUsage() const;                                 // K, from training
    // The code a blank cell shows while the prior has not filled it: the most used one.
    int64_t blankCode() const override;
    bool inPriorPhase() const;
    bool inRefinePhase() const;

private:
    Metrics autoencoderStep(const torch::Tensor& x);
    Metrics priorStep(const torch::Tensor& x);
    Metrics refineStep(const torch::Tensor& x);
    void checkCodes(const torch::Tensor& codes, const char* what) const;
    void makeOptimizers();

    std::unique_ptr<torch::optim::Adam> m_aeOptimizer, m_priorOptimizer;
    std::unique_ptr<DecoderRefiner> m_refiner;  // when it refines
};

void registerVqVae(ModelRegistry& registry);

}  // namespace le
