#pragma once

// VQ-VAE-2 (Razavi et al. 2019, "Generating Diverse High-Fidelity Images with VQ-VAE-2"): two
// levels of codes. The image (padded with background to a multiple of 16 on each side, so a
// 28×28 image becomes 32×32) goes through a bottom encoder to features at 1/4 scale and from there
// through a top encoder to 1/8 scale, quantised by the top codebook (a 4×4 grid for 32×32). The
// top codes, decoded back to 1/4 scale, join the bottom features to give the bottom grid (8×8),
// quantised by its own codebook. The decoder reads both: the bottom codes and the top codes
// upsampled. Codebooks by EMA with dead-code restarts, as the VQ-VAE family's.
//
// Priors. A gated PixelCNN over the top grid, and one over the bottom grid conditioned on the top
// codes (embedded, a 3×3 convolution, upsampled to the bottom grid and added, through a 1×1
// projection, to every layer's vertical stack): p(top) p(bottom | top). Both are the PixelCNN
// module's network. Sampling fills the top grid code by code, then the bottom grid, and decodes.
//
// Two phases by step count, as the VQ-VAE: `ae_steps` autoencoder steps (MSE + β·both
// commitments), then the two priors together on the frozen encoder's codes.
//
// An optional third phase, from step `refine_from`, refines the decoder adversarially as VQGAN
// does, on the frozen codes (decoder_refiner.h). The weight average, when the priors keep one,
// covers the decoder too.
//
// Code grid. Both levels packed into one grid of bottom-width columns (CodeLevel): the top grid's
// cells first, then the bottom grid's, so that 4×4 + 8×8 codes make a 10×8 grid. One codebook size
// K for both levels (each level has its own codebook). encode()/decode() work on the quantised
// embeddings of both levels flattened, for interpolation and the latent map.
//
// Likelihood: −log p(x) ≤ −log p(x | codes) − log p(top) − log p(bottom | top), the reconstruction
// under a discretized logistic with a fitted global scale, over the real (unpadded) pixels.
//
// Config keys: channels, height, width; hidden (64), codes (K, 16, 2..1024), code_dim (16), beta
// (0.25), decay (0.99), ae_steps (3000), prior_hidden (64), prior_layers (6), prior_kernel (3),
// the autoencoder's optimiser recipe keys and the priors' with the prefix "prior_", as the VQ-VAE;
// the refinement's keys (decoder_refiner.h).

#include "models/decoder_refiner.h"
#include "models/family_model.h"
#include "models/generative_model.h"
#include "models/layers.h"
#include "models/pixelcnn.h"
#include "models/training_recipe.h"
#include "models/vqvae.h"

#include <memory>
#include <string>
#include <vector>

namespace le {

struct VqVae2Options {
    ImageShape shape;
    int64_t hidden = 64;
    int64_t codes = 16;
    int64_t codeDim = 16;
    double beta = 0.25;
    double decay = 0.99;
    int64_t aeSteps = 3000;
    int64_t priorHidden = 64;
    int64_t priorLayers = 6;
    int64_t priorKernel = 3;
    OptimiserRecipe recipe;
    OptimiserRecipe priorRecipe = VqVaeOptions::defaultPriorRecipe();
    DecoderRefinement refine;

    static VqVae2Options fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;

    int64_t paddedHeight() const { return (shape.height + 15) / 16 * 16; }
    int64_t paddedWidth() const { return (shape.width + 15) / 16 * 16; }
    int64_t bottomHeight() const { return paddedHeight() / 4; }
    int64_t bottomWidth() const { return paddedWidth() / 4; }
    int64_t topHeight() const { return paddedHeight() / 8; }
    int64_t topWidth() const { return paddedWidth() / 8; }
    std::vector<CodeLevel> levels() const;  // top, then bottom, packed
    int64_t packedRows() const;
};

// The two codes grids of a batch: top N×ht×wt and bottom N×hb×wb, int64.
struct CodeLevels {
    torch::Tensor top, bottom;
};

class VqVae2NetImpl : public torch::nn::Module {
public:
    explicit VqVae2NetImpl(const VqVae2Options& options);

    struct Encoded {
        torch::Tensor zTop, zBottom;  // continuous, before quantising (N×D×h×w)
        CodeLevels codes;
        torch::Tensor qTop, qBottom;  // quantised (codebook vectors)
    };
    // x: N×C×H×W in [-1, 1]. With `straightThrough`, q carries the encoder's gradient.
    Encoded encode(const torch::Tensor& x, bool straightThrough, bool initialiseCodebooks = false);
    // Quantised grids -> image N×C×H×W (the padding cropped away).
    torch::Tensor decode(const torch::Tensor& qTop, const torch::Tensor& qBottom);
    torch::Tensor decodeCodes(const CodeLevels& codes);
    // The bottom prior's condition for top codes: N×prior_hidden×hb×wb.
    torch::Tensor bottomCondition(const torch::Tensor& topCodes);
    torch::Tensor logScale() const;
    // The priors' parameters (the condition network included): what the second phase trains.
    std::vector<torch::Tensor> priorParameters();
    // The decoder's parameters (the top codes' upsampling included): what the refinement trains.
    std::vector<torch::Tensor> decoderParameters();
    // The weight of the decoder's last layer, where the refinement balances its two losses.
    torch::Tensor lastDecoderWeight() const { return m_lastDecoderLayer->weight; }

    Codebook topCodebook{nullptr}, bottomCodebook{nullptr};
    PixelCnnNet topPrior{nullptr}, bottomPrior{nullptr};
    torch::Tensor stepsTaken;

private:
    VqVae2Options m_options;
    torch::nn::Sequential m_encoderBottom{nullptr}, m_encoderTop{nullptr}, m_topToBottom{nullptr},
        m_bottomIn{nullptr}, m_topUp{nullptr}, m_decoder{nullptr};
    TransposedConv2d m_lastDecoderLayer{nullptr};
    torch::nn::Embedding m_conditionEmbedding{nullptr};
    torch::nn::Sequential m_condition{nullptr};
    torch::Tensor m_logScale;
};
TORCH_MODULE(VqVae2Net);

class VqVae2 final : public FamilyModel<VqVae2Options, VqVae2Net>, public CodeGridModel {
public:
    explicit VqVae2(const VqVae2Options& options);

    std::string family() const override { return "vqvae2"; }
    Capabilities capabilities() const override;
    int64_t latentDim() const override;

    torch::Tensor encode(const torch::Tensor& x) override;  // both levels' embeddings, flattened
    torch::Tensor decode(const torch::Tensor& z) override;
    torch::Tensor sample(int64_t n, double temperature, uint64_t seed) override;
    // Anchors: a packed code grid (packedRows × bottom width); the mask the same shape.
    std::unique_ptr<AutoregressiveSampler> sampler(const SamplerOptions& options) override;

    Metrics trainStep(const torch::Tensor& batch) override;
    Metrics evaluate(const torch::Tensor& batch) override;

    void setLearningRate(double lr) override;
    void to(torch::Device device) override;
    // Also moves the phase (autoencoder, prior, refinement), which the steps decide.
    void setStepsTaken(int64_t steps) override;

    CodeGridModel* codeGrid() override { return this; }
    int64_t codeCount() const override { return m_options.codes; }
    int64_t gridHeight() const override { return m_options.packedRows(); }
    int64_t gridWidth() const override { return m_options.bottomWidth(); }
    std::vector<CodeLevel> codeLevels() const override { return m_options.levels(); }
    torch::Tensor encodeCodes(const torch::Tensor& x) override;      // packed N×rows×cols
    torch::Tensor decodeCodes(const torch::Tensor& codes) override;  // packed -> images
    int64_t blankCode() const override;  // the bottom level's most used code
    int64_t blankCode(int level) const;  // 0: top, 1: bottom
    bool inPriorPhase() const;
    bool inRefinePhase() const;

    CodeLevels unpack(const torch::Tensor& packed) const;
    torch::Tensor pack(const CodeLevels& levels) const;
    // Decodes a packed grid whose unfilled cells are -1, each level's blanks showing its most
    // used code.
    torch::Tensor decodePartial(const torch::Tensor& packed);

private:
    Metrics autoencoderStep(const torch::Tensor& x);
    Metrics priorStep(const torch::Tensor& x);
    Metrics refineStep(const torch::Tensor& x);
    void checkCodes(const torch::Tensor& codes, const char* what) const;
    void makeOptimizers();

    std::unique_ptr<torch::optim::Adam> m_aeOptimizer, m_priorOptimizer;
    std::unique_ptr<DecoderRefiner> m_refiner;  // when it refines
};

void registerVqVae2(ModelRegistry& registry);

}  // namespace le
