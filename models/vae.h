#pragma once

// Variational autoencoder: a convolutional encoder/decoder (default) or the classic fully
// connected 784-400-latent network taught in courses (arch "mlp"). Gaussian posterior, standard
// normal prior, β-weighted KL. Images in [-1, 1]; the decoder's mean ends in tanh.
//
// Likelihood: a discretized logistic over the 256 levels of 8-bit data (PixelCNN++-style), with
// the decoder output as its mean and one learned global log-scale. So the reconstruction term is
// a real probability of the 8-bit image, the ELBO is a true lower bound on log p(x) of the
// discrete data, and bits per dimension follow without a change of variables.
//
// Metrics (all per image, averaged over the batch):
//   loss      the training objective  nll + β·kl  (nats; the negative ELBO when β = 1)
//   nll       −E_q log p(x|z), one posterior sample (nats)
//   kl        KL(q(z|x) ‖ N(0, I)), analytic (nats)
//   recon_mse mean squared error per pixel on the [-1, 1] scale; trainStep: of the sampled
//             reconstruction, evaluate: of decode(posterior mean), what the GUI shows
//   bpd       evaluate only: (nll + kl) / (D ln 2), the negative ELBO (β = 1 always) in bits per
//             dimension; a one-sample Monte Carlo estimate with a fixed seed, so repeatable
//   scale     the learned logistic scale on the [-1, 1] scale
//
// Config keys: channels, height, width, arch (conv|mlp), latent (default 16, 1..512), beta (1.0,
// > 0), hidden (mlp: units, default 400; conv: base channel count, default 32), and the
// optimiser recipe's keys (training_recipe.h; defaults lr 1e-3, no warm-up, no cosine, no clip,
// ema 0: a VAE decodes with the weights it trained to).

#include "models/family_model.h"
#include "models/generative_model.h"
#include "models/training_recipe.h"

#include <memory>
#include <string>
#include <utility>

namespace le {

struct VaeOptions {
    ImageShape shape;
    std::string arch = "conv";
    int64_t latent = 16;
    double beta = 1.0;
    int64_t hidden = 0;      // 0 = the arch's default
    OptimiserRecipe recipe;  // lr 1e-3, nothing else by default

    static VaeOptions fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;
    int64_t resolvedHidden() const;  // hidden, or the arch's default when 0
};

// The network: encoder → (mu, logvar) heads; decoder z → image mean in [-1, 1]; a learned
// log-scale for the discretized logistic likelihood.
class VaeNetImpl : public torch::nn::Module {
public:
    explicit VaeNetImpl(const VaeOptions& options);

    // x: N×C×H×W -> (mu, logvar), each N×latent.
    std::pair<torch::Tensor, torch::Tensor> encode(const torch::Tensor& x);
    // z: N×latent -> N×C×H×W in [-1, 1].
    torch::Tensor decode(const torch::Tensor& z);
    // The likelihood's log-scale, clamped to a numerically safe range.
    torch::Tensor logScale() const;

private:
    torch::nn::Sequential m_encoder{nullptr};
    torch::nn::Linear m_mu{nullptr};
    torch::nn::Linear m_logvar{nullptr};
    torch::nn::Sequential m_decoder{nullptr};
    torch::Tensor m_logScale;
};
TORCH_MODULE(VaeNet);

// Per-pixel log-probability (nats) of 8-bit data x in [-1, 1] under a discretized logistic with
// mean `mean` and log-scale `logScale` (broadcast), 256 bins; edge bins take the tails.
torch::Tensor discretizedLogisticLogProb(const torch::Tensor& x, const torch::Tensor& mean,
                                         const torch::Tensor& logScale);

class Vae final : public FamilyModel<VaeOptions, VaeNet> {
public:
    explicit Vae(const VaeOptions& options);

    std::string family() const override { return "vae"; }
    Capabilities capabilities() const override;
    int64_t latentDim() const override { return m_options.latent; }

    torch::Tensor encode(const torch::Tensor& x) override;  // the posterior mean
    torch::Tensor decode(const torch::Tensor& z) override;
    torch::Tensor samplePrior(int64_t n, double temperature, uint64_t seed) override;

    Metrics trainStep(const torch::Tensor& batch) override;
    Metrics evaluate(const torch::Tensor& batch) override;

    void setLearningRate(double lr) override;
    void to(torch::Device device) override;

private:
    struct Terms {
        torch::Tensor nll, kl, mse;  // per-batch means (scalars)
    };
    Terms terms(const torch::Tensor& x, const torch::Tensor& noise);
    void makeOptimizer();
    void applyLearningRate(double lr);  // the network's rate, and the log-scale's in proportion

    std::unique_ptr<torch::optim::Adam> m_optimizer;
};

void registerVae(ModelRegistry& registry);

}  // namespace le
