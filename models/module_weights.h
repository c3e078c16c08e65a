#pragma once

// A module's parameters and buffers as a self-contained LibTorch archive, validated by name and
// shape on load. Shared by every GenerativeModel and by the plain modules that are not one (the
// classifier), so that all checkpoints hold weights in one format.

#include <torch/torch.h>

#include <iosfwd>
#include <string>
#include <vector>

namespace le {

void saveModuleWeights(torch::nn::Module& module, std::ostream& out);

// Checks every name and shape before the first copy, so a bad archive leaves the module as it
// was. `owner` names the module in errors ("vae", "classifier"). Weights whose names start with
// one of `fresh` are neither read nor required: they keep the module's own values, so that one
// part of a model (a VQ-VAE's prior) can start anew, at another size, beside trained parts.
// Throws ModelError, also when a prefix in `fresh` names none of the module's weights.
void loadModuleWeights(torch::nn::Module& module, std::istream& in, const std::string& owner,
                       const std::vector<std::string>& fresh = {});

}  // namespace le
