#pragma once

// The one interface every model family implements. LibTorch only: no Qt, no OpenCV, so that
// models/ builds on its own against any LibTorch (CPU or CUDA, 1.13 or 2.x).
//
// Image tensors are NCHW float in [-1, 1] unless a family documents otherwise.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace le {

class WeightAverage;

// Thrown for every problem a user can cause (bad config, wrong image shape, corrupt weights).
class ModelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ImageShape {
    int64_t channels = 1;
    int64_t height = 28;
    int64_t width = 28;

    int64_t numel() const { return channels * height * width; }
    bool operator==(const ImageShape& o) const {
        return channels == o.channels && height == o.height && width == o.width;
    }
    bool operator!=(const ImageShape& o) const { return !(*this == o); }
    std::string toString() const;  // "1x28x28"
};

// What a model can do; the GUI enables only what a model supports.
struct Capabilities {
    bool encode = false;                   // x -> z (amortised or exact)
    bool decode = false;                   // z -> x
    bool sample = false;                   // draw new images
    bool exactLikelihood = false;          // log p(x) exactly (Glow, PixelCNN)
    bool likelihoodBound = false;          // a bound on log p(x) (VAE's ELBO)
    bool autoregressive = false;           // pixel-by-pixel stepping
    bool codeGrid = false;                 // image -> grid of discrete codes (VQ-VAE)
    bool inversionByOptimisation = false;  // z found by gradient descent (GAN)
    bool exactEncode = false;              // encode() is decode()'s exact inverse (a flow)
};

// The lecture's kinds of generative model: what the Compare view's verdict speaks of.
enum class ModelKind { VariationalAutoencoder, Adversarial, Flow, Autoregressive, Hybrid, Other };

// What the views say about a family, given to the registry with its factory, so that no view
// or job needs to know a family by name.
struct FamilyInfo {
    std::string title;  // "VAE", "PixelCNN": in every view
    ModelKind kind = ModelKind::Other;
    // What a sampling temperature T does, one line ("softmax(logits / T) at every pixel").
    std::string temperatureMeaning;
    // A likelihoodBound family's bound, as the likelihood meter names it ("ELBO").
    std::string boundName = "bound";
    bool latentSize = false;  // takes the "latent" config key (the training form's field)
};

// Flat string-valued configuration: family-specific keys ("arch", "latent", "beta", ...).
// Kept as strings so that the checkpoint header can carry it without a schema per family.
class ModelConfig {
public:
    ModelConfig() = default;
    explicit ModelConfig(std::map<std::string, std::string> values) : m_values(std::move(values)) {}

    bool has(const std::string& key) const { return m_values.count(key) != 0; }
    std::string getString(const std::string& key, const std::string& fallback) const;
    int64_t getInt(const std::string& key, int64_t fallback) const;
    double getDouble(const std::string& key, double fallback) const;
    // An integer in [min, max]; ModelError naming the key and the range otherwise.
    int64_t getIntIn(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
    // A learning rate: a number in (0, 1]; ModelError naming the key otherwise.
    double getLearningRate(const std::string& key, double fallback) const;
    void set(const std::string& key, const std::string& value) { m_values[key] = value; }
    void set(const std::string& key, int64_t value) { m_values[key] = std::to_string(value); }
    void set(const std::string& key, double value);
    const std::map<std::string, std::string>& values() const { return m_values; }

private:
    std::map<std::string, std::string> m_values;
};

// Scalar results of a training step or an evaluation, by name ("loss", "recon_mse", "bpd", ...).
using Metrics = std::map<std::string, double>;

// Scalar tensors (0-d, any device) read into Metrics with one device-to-host copy: a metric read
// by item() each is a synchronisation each on a GPU.
Metrics readScalars(const std::vector<std::pair<std::string, torch::Tensor>>& scalars);

// Inversion by optimisation (a GAN has no encoder): find z whose decode matches a target image.
struct InversionOptions {
    int64_t steps = 300;  // optimiser steps per start
    int64_t starts = 4;   // random starts (plus an encoder start where the model has one)
    double learningRate = 0.05;
    double priorWeight = 1e-3;  // weight of the ‖z‖² prior term against the pixel error
    uint64_t seed = 1;
    bool useEncoder = true;  // start one run from a trained encoder's guess, if any
};

struct InversionResult {
    torch::Tensor latent;  // 1×latentDim, the best found
    torch::Tensor image;   // 1×C×H×W, its decode
    double error = 0;      // mean squared pixel error on the [-1, 1] scale
    int64_t steps = 0;     // optimiser steps taken in all
    bool cancelled = false;
};

// What an inversion reports after each optimiser step.
struct InversionUpdate {
    int64_t step = 0;  // steps taken so far (1-based)
    int64_t totalSteps = 0;
    double bestError = 0;      // the best mean squared pixel error so far
    torch::Tensor bestLatent;  // 1×latentDim, the latent of bestError; shared with the model's
                               // state (no copy per step): clone or decode it, never modify it
};

// Called after each optimiser step; return false to cancel. Cheap to call every step: a caller
// that shows the image decodes bestLatent only as often as it redraws.
using InversionProgress = std::function<bool(const InversionUpdate& update)>;

// One position of autoregressive generation, as a stepping sampler reports it.
struct SampleStep {
    int64_t position = 0;  // index in generation order
    int64_t channel = 0, row = 0, col = 0;
    torch::Tensor probabilities;  // K values summing to 1: the predicted distribution
    int64_t value = 0;            // the sampled (or anchored) value
    bool anchored = false;        // taken from the anchors, not sampled
};

struct SamplerOptions {
    double temperature = 1.0;  // > 0; softmax temperature
    uint64_t seed = 1;
    int64_t batch = 1;      // images stepped side by side (sample() draws its n this way)
    bool cached = true;     // the incremental path; false: one full forward pass per step
    torch::Tensor anchors;  // optional: values to keep (image for PixelCNN, code grid for VQ-VAE)
    torch::Tensor anchorMask;  // optional: bool, same spatial shape, true where anchored
};

// Fills one position per step(); a GUI steps it, a batch caller runs it to the end.
class AutoregressiveSampler {
public:
    virtual ~AutoregressiveSampler() = default;
    virtual int64_t totalSteps() const = 0;
    virtual int64_t stepsDone() const = 0;
    bool done() const { return stepsDone() >= totalSteps(); }
    virtual SampleStep step() = 0;
    // The state so far as an image in [-1, 1] (1×C×H×W); unfilled positions are 0.
    virtual torch::Tensor image() const = 0;
    // The raw values so far (pixels 0..255 or code indices), unfilled = -1.
    virtual torch::Tensor values() const = 0;
    // Steps that fill one row of positions (every channel of a row of pixels, or a row of codes).
    virtual int64_t stepsPerRow() const = 0;
    // What one value is, for labels: "value" (an 8-bit level) or "code".
    virtual std::string valueName() const { return "value"; }
};

// One grid of codes of a CodeGridModel. A model with several (VQ-VAE-2: a coarse top grid and a
// fine bottom one) packs them into its one gridHeight() × gridWidth() grid, level after level, each
// in raster order, coarsest first: level cells [start, start + height·width) of the packed grid.
struct CodeLevel {
    std::string name;  // "top", "bottom"; "codes" for a one-level grid
    int64_t height = 0, width = 0;
    int64_t start = 0;  // its first cell in the packed grid (row-major)
    int64_t cells() const { return height * width; }
};

// A model whose latent is a grid of discrete codes (the VQ-VAE), reached through
// GenerativeModel::codeGrid().
class CodeGridModel {
public:
    virtual ~CodeGridModel() = default;
    // The levels packed in the grid; one level, the grid itself, unless a family says otherwise.
    virtual std::vector<CodeLevel> codeLevels() const {
        return {CodeLevel{"codes", gridHeight(), gridWidth(), 0}};
    }
    virtual int64_t codeCount() const = 0;  // K
    virtual int64_t gridHeight() const = 0;
    virtual int64_t gridWidth() const = 0;
    // N×C×H×W in [-1, 1] -> N×h×w int64 codes.
    virtual torch::Tensor encodeCodes(const torch::Tensor& x) = 0;
    // N×h×w codes -> images; ModelError for codes out of range.
    virtual torch::Tensor decodeCodes(const torch::Tensor& codes) = 0;
    // The code an unfilled cell shows (the most used one).
    virtual int64_t blankCode() const = 0;
};

class GenerativeModel {
public:
    virtual ~GenerativeModel() = default;

    virtual std::string family() const = 0;
    virtual Capabilities capabilities() const = 0;
    // The full configuration, including the image shape, so that the registry can rebuild it.
    virtual ModelConfig config() const = 0;
    virtual ImageShape imageShape() const = 0;
    // Size of the flat latent vector that encode() returns and decode() takes; 0 if none.
    virtual int64_t latentDim() const = 0;

    // x: N×C×H×W in [-1, 1] -> N×latentDim (the posterior mean for a VAE).
    virtual torch::Tensor encode(const torch::Tensor& x);
    // z: N×latentDim -> N×C×H×W in [-1, 1].
    virtual torch::Tensor decode(const torch::Tensor& z);
    // n new images; temperature scales the prior's spread (1 = the model's own distribution).
    virtual torch::Tensor sample(int64_t n, double temperature, uint64_t seed);
    // Draws n latents from the prior, for the map and for sampling grids.
    virtual torch::Tensor samplePrior(int64_t n, double temperature, uint64_t seed);

    // One optimiser step on a batch in [-1, 1]; returns the step's losses ("loss" always).
    virtual Metrics trainStep(const torch::Tensor& batch) = 0;
    // Held-out metrics on one batch, without gradients ("loss" always; others per family).
    virtual Metrics evaluate(const torch::Tensor& batch) = 0;
    // The CPU threads a training step runs fastest on; 0: every core (every family today).
    virtual int trainingThreads() const { return 0; }

    // The temperature this family's literature samples at, which every view and `eval` start
    // from: 1 (the model's own distribution) except where a family says otherwise (Glow: 0.7).
    virtual double defaultTemperature() const { return 1.0; }

    // The moving average of the weights that the family samples with, if it keeps one (see
    // training_recipe.h); AveragedWeightsScope swaps it in for evaluation, samples and saving.
    virtual WeightAverage* weightAverage() { return nullptr; }
    // Optimiser steps taken, which the learning-rate schedule follows; a run that continues
    // another (`train --init`) sets it to the steps its checkpoint records.
    int64_t stepsTaken() const { return m_stepsTaken; }
    virtual void setStepsTaken(int64_t steps) { m_stepsTaken = steps; }

    // Inversion by optimisation (capabilities().inversionByOptimisation).
    virtual InversionResult invert(const torch::Tensor& target, const InversionOptions& options,
                                   const InversionProgress& progress);
    // A stepping sampler (capabilities().autoregressive).
    virtual std::unique_ptr<AutoregressiveSampler> sampler(const SamplerOptions& options);
    // The code grid (capabilities().codeGrid), or null.
    virtual CodeGridModel* codeGrid() { return nullptr; }
    // An amortised encoder trained after the model (a GAN's, on its own samples): one step on
    // batchSize fresh pairs. hasEncoderTraining() says whether the family has one.
    virtual bool hasEncoderTraining() const { return false; }
    virtual Metrics trainEncoderStep(int64_t batchSize);

    // The module tree holding every parameter and buffer that a checkpoint must keep.
    virtual torch::nn::Module& module() = 0;
    virtual void setLearningRate(double lr) = 0;

    torch::Device device() const { return m_device; }
    virtual void to(torch::Device device);
    void train(bool on) { module().train(on); }

    // Weights as a self-contained blob (LibTorch archive), validated by name and shape on load;
    // those named in `fresh` (name prefixes, see module_weights.h) keep this model's own values.
    void saveWeights(std::ostream& out);
    void loadWeights(std::istream& in, const std::vector<std::string>& fresh = {});

    // Throws ModelError naming the expected and actual shape if x is not an image batch for this
    // model.
    void checkImageBatch(const torch::Tensor& x, const char* what) const;

    // Throws ModelError unless temperature is finite and > 0.
    void checkTemperature(double temperature) const;
    // Throws ModelError naming `what` and the shapes unless z is N×latentDim().
    void checkLatentBatch(const torch::Tensor& z, const char* what) const;
    // Throws ModelError naming the family unless lr is finite and > 0.
    void checkLearningRate(double lr) const;

protected:
    // n×dim draws from N(0, temperature²·I), made on the CPU from a generator seeded by `seed`, so
    // a seed gives the same latents on every device; then moved to the model's device.
    torch::Tensor standardNormalLatents(int64_t n, int64_t dim, double temperature,
                                        uint64_t seed) const;

    torch::Device m_device{torch::kCPU};
    int64_t m_stepsTaken = 0;
};

using ModelFactory = std::function<std::unique_ptr<GenerativeModel>(const ModelConfig&)>;

// Maps family names ("vae", "dcgan", ...) to factories and what the views say about them. The
// config must carry "channels", "height" and "width"; every other key has a family default.
class ModelRegistry {
public:
    static ModelRegistry& instance();
    void add(const std::string& family, FamilyInfo info, ModelFactory factory);
    bool has(const std::string& family) const;
    // In the order they were registered.
    std::vector<std::string> families() const;
    // ModelError for an unknown family.
    const FamilyInfo& info(const std::string& family) const;
    // Throws ModelError for an unknown family or a bad config.
    std::unique_ptr<GenerativeModel> create(const std::string& family, const ModelConfig& config,
                                            torch::Device device = torch::kCPU) const;

private:
    ModelRegistry();
    struct Family {
        FamilyInfo info;
        ModelFactory factory;
    };
    std::map<std::string, Family> m_families;
    std::vector<std::string> m_order;
};

// Reads the image shape from a config ("channels", "height", "width").
ImageShape imageShapeFromConfig(const ModelConfig& config);
void writeImageShape(ModelConfig& config, const ImageShape& shape);

// CUDA when this LibTorch has it and a device is present, else the CPU.
torch::Device defaultDevice();
// "auto" | "cpu" | "cuda" | "cuda:N"; throws ModelError for anything else or for CUDA without CUDA.
torch::Device parseDevice(const std::string& name);

}  // namespace le
