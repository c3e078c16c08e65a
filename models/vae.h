#pragma once

// Variational autoencoder: a convolutional encoder/decoder (default) or the classic fully
// connected 784-400-latent network taught in courses (arch "mlp"). Gaussian posterior, standard
// normal prior, β-weighted KL. Images in [-1, 1]; the decoder ends in tanh.
//
// Config keys: channels, height, width, arch (conv|mlp), latent (default 16), beta (1.0),
// hidden (mlp: 400; conv: base channel count 32), lr (1e-3).

#include "generative_model.h"

namespace le {

struct VaeOptions {
    ImageShape shape;
    std::string arch = "conv";
    int64_t latent = 16;
    double beta = 1.0;
    int64_t hidden = 0;  // 0 = the arch's default
    double lr = 1e-3;

    static VaeOptions fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;
};

void registerVae(ModelRegistry& registry);

}  // namespace le
