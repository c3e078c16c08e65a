#pragma once

// A model trained elsewhere, brought in as a TorchScript file that follows the contract in
// docs/torchscript.md: decode (required), encode, log_prob or elbo, sample_latent (optional),
// and a metadata file "latent_explorer.json" saved inside it. LibTorch only, like every model:
// core/storage parses the metadata (it has a JSON reader) and hands it over as a plain struct.
//
// Nothing is unpickled here: torch::jit::load is the one reader, and the module runs only the
// methods the contract names. The module is not trained or saved by the app.

#include "models/generative_model.h"

#include <torch/script.h>

#include <string>
#include <vector>

namespace le {

// The extra file the metadata travels in, its format name and the version this build reads.
constexpr const char* kTorchScriptMetadataFile = "latent_explorer.json";
constexpr const char* kTorchScriptFormat = "latent-explorer-torchscript";
constexpr int kTorchScriptVersion = 1;

// The contract's methods, in the order `info` lists them.
const std::vector<std::string>& torchScriptContractMethods();

// The metadata as the model needs it (parsed and checked for form by the caller).
struct TorchScriptMetadata {
    std::string kind = "other";  // vae, gan, flow, autoregressive, hybrid, other
    std::string title;
    ImageShape shape;
    int64_t latentSize = 0;
    double low = -1.0, high = 1.0;  // the value range of decode's output and encode's input
    std::string dataset;
};

// Every TorchScript model's family is "torchscript-<kind>", so that the views' per-family
// titles and kinds (the Compare view's verdict) work without the registry: the registry holds
// families the app can build and train, and a TorchScript model is neither.
std::string torchScriptFamily(const std::string& kind);
bool isTorchScriptFamily(const std::string& family);
// The FamilyInfo of a "torchscript-<kind>" family; null for any other name.
const FamilyInfo* torchScriptFamilyInfo(const std::string& family);
// True for the kinds the contract names.
bool isTorchScriptKind(const std::string& kind);

// A file read by torch::jit::load on the CPU, in eval mode; `metadata` is the raw JSON, empty
// when the file carries none.
struct TorchScriptFile {
    torch::jit::Module module;
    std::string metadata;
    std::vector<std::string> methods;  // the contract's methods that the module has
};

// ModelError "<file name>: <problem>" for a missing file, a file that is not TorchScript, one
// from a newer PyTorch than this LibTorch reads, or a damaged one.
TorchScriptFile readTorchScriptFile(const std::string& path);

// What a module with these contract methods can do.
Capabilities torchScriptCapabilities(const std::vector<std::string>& methods);

class TorchScriptModel final : public GenerativeModel {
public:
    // Checks the methods, then decodes two latents (and encodes the two images) against the
    // declared shapes and value range; ModelError "<name>: <problem>" otherwise. `name` is what
    // every error names: the file.
    TorchScriptModel(torch::jit::Module module, TorchScriptMetadata metadata, std::string name);

    std::string family() const override;
    Capabilities capabilities() const override;
    ModelConfig config() const override;
    ImageShape imageShape() const override { return m_metadata.shape; }
    int64_t latentDim() const override { return m_metadata.latentSize; }
    const TorchScriptMetadata& metadata() const { return m_metadata; }

    torch::Tensor encode(const torch::Tensor& x) override;
    torch::Tensor decode(const torch::Tensor& z) override;
    // sample_latent(n, T, seed) where the module has it; else N(0, T²I) from the seed.
    torch::Tensor samplePrior(int64_t n, double temperature, uint64_t seed) override;

    // ModelError: the app does not train a TorchScript model.
    Metrics trainStep(const torch::Tensor& batch) override;
    // "loss": −log_prob or −elbo in nats per image, with "bpd" (bits per dimension of the 8-bit
    // image); "nll" for an exact likelihood; "recon_mse" where the model encodes. Without either
    // method "loss" is the reconstruction error; a decoder alone reports "loss" as NaN (nothing
    // to measure on held-out images; its samples still are).
    Metrics evaluate(const torch::Tensor& batch) override;

    // Holds no parameters: the weights live in the script module. Checkpoint code refuses to
    // save this family (core/storage/checkpoint.cpp).
    torch::nn::Module& module() override { return m_empty; }
    void setLearningRate(double lr) override;
    void to(torch::Device device) override;

private:
    bool has(const char* method) const;
    // Runs a contract method without gradients; ModelError naming the file on any failure.
    torch::Tensor call(const char* method, std::vector<c10::IValue> inputs);
    void checkImages(const torch::Tensor& y, int64_t n, const char* what) const;
    void validate();
    // Between the app's [-1, 1] and the model's declared range.
    torch::Tensor toModelRange(const torch::Tensor& x) const;
    torch::Tensor fromModelRange(const torch::Tensor& y) const;
    [[noreturn]] void fail(const std::string& problem) const;

    torch::jit::Module m_script;
    TorchScriptMetadata m_metadata;
    std::string m_name;
    std::vector<std::string> m_methods;
    torch::nn::Module m_empty;
};

}  // namespace le
