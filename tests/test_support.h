#pragma once

// Small helpers shared by the tests: a temporary folder per test run, and a VAE configuration
// small enough to build and save quickly.

#include "models/generative_model.h"

#include <QString>

#include <memory>

namespace le::test {

inline ModelConfig smallVaeConfig(int64_t latent = 8, int64_t channels = 1, int64_t size = 28) {
    ModelConfig config;
    config.set("latent", latent);
    config.set("hidden", int64_t{8});
    writeImageShape(config, ImageShape{channels, size, size});
    return config;
}

inline std::unique_ptr<GenerativeModel> smallVae(int64_t latent = 8, int64_t channels = 1,
                                                 int64_t size = 28) {
    return ModelRegistry::instance().create("vae", smallVaeConfig(latent, channels, size));
}

}  // namespace le::test
