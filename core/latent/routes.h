#pragma once

// How a model reaches a latent for an image, decided from its capabilities alone: the one place
// the inversion and interpolation routes are chosen, for the views and the CLI alike.

#include "models/generative_model.h"

#include <QString>

namespace le {

enum class LatentRoute {
    None,            // the model cannot
    Encoder,         // its (amortised) encoder, then its decoder
    ExactFlow,       // a flow's exact inverse
    CodeGrid,        // a VQ-VAE's grid of discrete codes
    EmbeddingSpace,  // a VQ-VAE's quantised embeddings: a continuous space to interpolate in
    Optimisation,    // z found by gradient descent through the decoder (a GAN)
};

// Inversion: the code grid, the exact flow, optimisation (a GAN, its encoder's guess one of the
// starts), else the encoder.
LatentRoute inversionRoute(const Capabilities& capabilities);
// Interpolation: the embedding space, the exact flow, the encoder (a GAN's once trained), else
// optimisation.
LatentRoute interpolationRoute(const Capabilities& capabilities);

// For labels: "encoder", "exact flow", "code grid", "embedding space", "optimisation"; "" for None.
QString routeName(LatentRoute route);
// The same for an interpolation, where latents found by optimisation read "inversion".
QString interpolationRouteName(LatentRoute route);

}  // namespace le
