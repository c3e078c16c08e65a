#pragma once

// Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
// Decoders"): a vertical stack that sees the rows above and a horizontal stack that sees the
// pixels to the left in the current row, joined at every layer, so the receptive field has no
// blind spot. Gated activations tanh(a)·σ(b); residual connections in the horizontal stack.
//
// Outputs a K-way softmax per value (K = 256 for 8-bit pixels, the codebook size for VQ-VAE
// codes). Order: raster over pixels and, for RGB, R then G then B within a pixel: the stacks see
// every channel of the pixels before, and the head for G adds a 1×1 projection of the pixel's R,
// the head for B one of R and G. So p(x) = Π_pixels p(r|<) p(g|<,r) p(b|<,r,g) exactly.
//
// Causality by masks: the vertical kernel is (k/2+1)×k over rows i−k/2..i, the horizontal 1×(k/2+1)
// over columns j−k/2..j; in the first layer the last kernel row (vertical) and column
// (horizontal) are masked to zero, so position (i, j) never sees itself or anything after it.
//
// The same network serves two inputs: pixel values (a float image in [-1, 1]) for the PixelCNN
// family, and a grid of code indices (through an embedding) for the VQ-VAE prior.
//
// Sampling. The naive path runs the whole network once per generated value. The cached path
// computes the vertical stack once per row, on the band of rows its receptive field reaches, and
// per pixel only one new column of each layer's horizontal stack (its inputs to the left are kept
// from the pixels before), as matrix products rather than convolutions, then the head: the same
// numbers, up to rounding, from far fewer and far cheaper operations. Both draw from the same
// seeded generator in the same order, so for a given seed they give the same sample (tst_pixelcnn
// checks it).
//
// Metrics (per image, averaged over the batch):
//   loss   −log p(x), nats per image (exact)
//   bpd    loss / (D·ln 2), D = C·H·W
//
// Config keys (family "pixelcnn"): channels, height, width, hidden (feature maps, default 64,
// 8..512), layers (gated layers, default 7, 2..30), kernel (odd, default 5 for the first layer,
// then 3; 3..9), and the optimiser recipe's keys (training_recipe.h; defaults lr 1e-3,
// warmup 50, no cosine, clip 5, ema 0.999).

#include "models/family_model.h"
#include "models/generative_model.h"
#include "models/training_recipe.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace le {

struct PixelCnnNetOptions {
    int64_t channels = 1;  // values per position (1 for codes, C for images)
    int64_t height = 28;
    int64_t width = 28;
    int64_t levels = 256;     // K: categories per value
    bool codes = false;       // input is code indices through an embedding, not pixel values
    int64_t hidden = 64;      // feature maps in both stacks
    int64_t layers = 7;       // gated layers
    int64_t firstKernel = 5;  // odd; later layers use 3
    // A conditional prior's side input (VQ-VAE-2's bottom prior sees the top codes): channels of
    // a map N×Cc×H×W that every layer adds, through a 1×1 projection, to its vertical stack's
    // pre-activation (which reaches the horizontal stack through v_to_h). It is given, not
    // sampled, so it may come from any position. 0: unconditional.
    int64_t conditionChannels = 0;
};

// One gated layer's horizontal stack as matrices, for the cached sampler's one-column steps: the
// 1×(r+1) kernel (mask applied) flattened over (column, channel) to (r+1)·in × 2F, the 1×1
// residual transposed to F × F, ready for addmm. Taken once per stepper.
struct GatedColumnWeights {
    torch::Tensor kernel, bias, residual, residualBias;
    int64_t reach = 0, in = 0;
    bool first = false;
};

// One gated layer: vertical and horizontal stacks, mask type A (first layer) or B.
class GatedLayerImpl : public torch::nn::Module {
public:
    GatedLayerImpl(int64_t in, int64_t hidden, int64_t kernel, bool first,
                   int64_t conditionChannels = 0);

    // The vertical stack's pre-activation (N×2F×H×W, same H×W as v), plus the projected
    // condition (N×Cc×H×W, the same rows) when the layer has one.
    torch::Tensor verticalPre(const torch::Tensor& v, const torch::Tensor& condition = {});
    // The horizontal stack's output given its input h and the vertical pre-activation of the same
    // rows and columns (N×2F×rows×cols).
    torch::Tensor horizontal(const torch::Tensor& h, const torch::Tensor& vPre);
    // The same in two parts, so that the cached sampler maps a whole row of the vertical stack
    // into the horizontal one once and then runs only the horizontal stack per pixel.
    torch::Tensor verticalToHorizontal(const torch::Tensor& vPre);
    torch::Tensor horizontalFrom(const torch::Tensor& h, const torch::Tensor& vToH);
    // vPre → the vertical stack's output.
    static torch::Tensor gate(const torch::Tensor& pre);

    GatedColumnWeights columnWeights() const;
    // One column of the horizontal stack: window N×(r+1)·in (the input's columns j−r..j, channels
    // last), vToH N×2F (the vertical stack mapped in, plus the horizontal bias), residualIn N×F
    // (the input at column j; unused in the first layer) -> N×F.
    static torch::Tensor horizontalColumn(const GatedColumnWeights& w, const torch::Tensor& window,
                                          const torch::Tensor& vToH,
                                          const torch::Tensor& residualIn);

    int64_t reach() const { return m_kernel / 2; }  // rows up / columns either side it sees

private:
    int64_t m_kernel;
    bool m_first;
    torch::nn::Conv2d m_vertical{nullptr}, m_horizontal{nullptr}, m_vToH{nullptr},
        m_residual{nullptr}, m_condition{nullptr};
    torch::Tensor m_verticalMask, m_horizontalMask;
};
TORCH_MODULE(GatedLayer);

class PixelCnnNetImpl : public torch::nn::Module {
public:
    explicit PixelCnnNetImpl(const PixelCnnNetOptions& options);

    // values: N×C×H×W int64 in [0, K) (or -1 where not yet known; never seen by what it
    // predicts) -> logits N×K×C×H×W. condition: N×Cc×H×W for a conditional net, else undefined.
    torch::Tensor forward(const torch::Tensor& values, const torch::Tensor& condition = {});

    // −log p(values | condition), nats per image (N).
    torch::Tensor negLogLikelihood(const torch::Tensor& values,
                                   const torch::Tensor& condition = {});

    // The network's input for values: a float image in [-1, 1] or embedded codes.
    torch::Tensor input(const torch::Tensor& values);

    // Cached path: every layer's vertical stack at `row`, mapped into its horizontal stack
    // (N×2F×1×W each), from the band of rows above that the receptive field reaches.
    std::vector<torch::Tensor> verticalRow(const torch::Tensor& values, int64_t row,
                                           const torch::Tensor& condition = {});

    // Cached path: the layers, trunk and heads as matrices (see GatedColumnWeights).
    struct StepWeights {
        std::vector<GatedColumnWeights> layers;
        torch::Tensor trunk, trunkBias;                    // F × F, F
        std::vector<torch::Tensor> channelInputs;          // channel c ≥ 1: c × F
        std::vector<torch::Tensor> outputs, outputBiases;  // channel c: F × K, K
    };
    StepWeights stepWeights() const;

    const PixelCnnNetOptions& options() const { return m_options; }
    int64_t rowReach() const;     // rows above that reach a position
    int64_t columnReach() const;  // columns left (and right, in rows above) that reach it

private:
    torch::Tensor trunk(const torch::Tensor& h);  // N×F×… → N×F×…

    PixelCnnNetOptions m_options;
    torch::nn::Embedding m_embedding{nullptr};  // codes only
    torch::nn::ModuleList m_layers{nullptr};
    std::vector<GatedLayer> m_gated;
    torch::nn::Conv2d m_trunk{nullptr};
    std::vector<torch::nn::Conv2d> m_channelInputs;  // channel c ≥ 1: 1×1 from channels < c
    std::vector<torch::nn::Conv2d> m_outputs;        // channel c: F → K
};
TORCH_MODULE(PixelCnnNet);

// A stepping sampler over any PixelCnnNet: fills `batch` images (or code grids) position by
// position. The family samplers wrap it. Here options.anchors are values already (C×H×W or
// 1×C×H×W, int64 in [0, K)) and options.anchorMask is H×W (or 1×H×W), true where kept; the
// constructor checks them and the temperature, and throws ModelError prefixed with `family`.
// A conditional net takes its condition map (N×Cc×H×W or 1×Cc×H×W) here.
class PixelCnnStepper {
public:
    PixelCnnStepper(PixelCnnNet net, int64_t batch, const SamplerOptions& options,
                    const std::string& family, const torch::Tensor& condition = {});

    int64_t totalSteps() const;
    int64_t stepsDone() const { return m_done; }
    bool done() const { return m_done >= totalSteps(); }
    // Fills one value in every image of the batch; the report is about image 0.
    SampleStep step() { return advance(true); }
    void runToEnd();
    const torch::Tensor& values() const { return m_values; }  // N×C×H×W int64, -1 unfilled

private:
    SampleStep advance(bool report);
    torch::Tensor logitsNaive(int64_t channel, int64_t row, int64_t col);
    torch::Tensor logitsCached(int64_t channel, int64_t row, int64_t col);
    void startRow(int64_t row);
    torch::Tensor trunkAt(int64_t row, int64_t col);
    std::vector<int64_t> draw(const torch::Tensor& logits, torch::Tensor* firstProbs);
    void write(int64_t channel, int64_t row, int64_t col, const std::vector<int64_t>& values);

    PixelCnnNet m_net;
    SamplerOptions m_options;
    torch::Tensor m_values;
    torch::Tensor m_condition;     // N×Cc×H×W or undefined
    torch::Tensor m_anchorValues;  // N×C×H×W int64 or undefined
    torch::Tensor m_anchorMask;    // H×W bool or undefined
    std::vector<bool> m_anchored;  // the mask, row-major, for a test per step without a tensor op
    at::Generator m_generator;
    int64_t m_done = 0;
    // Cached path state. Per row: each layer's vertical stack mapped in (N×W×2F, horizontal bias
    // added) and each layer's input features, channels last, with r zero columns on the left
    // (N×(r+W)×in), filled one column per pixel. Per pixel: the trunk.
    PixelCnnNetImpl::StepWeights m_weights;
    int64_t m_cachedRow = -1;
    std::vector<torch::Tensor> m_rowVToH, m_rowInputs;
    int64_t m_trunkPosition = -1;
    torch::Tensor m_trunk;
};

struct PixelCnnOptions {
    ImageShape shape;
    int64_t hidden = 64;
    int64_t layers = 7;
    int64_t kernel = 5;
    OptimiserRecipe recipe = defaultRecipe();

    static OptimiserRecipe defaultRecipe();

    static PixelCnnOptions fromConfig(const ModelConfig& config);  // validates, throws ModelError
    ModelConfig toConfig() const;
    PixelCnnNetOptions netOptions() const;
};

class PixelCnn final : public FamilyModel<PixelCnnOptions, PixelCnnNet> {
public:
    explicit PixelCnn(const PixelCnnOptions& options);

    std::string family() const override { return "pixelcnn"; }
    Capabilities capabilities() const override;
    int64_t latentDim() const override { return 0; }

    // n images by the cached path, all in one batch.
    torch::Tensor sample(int64_t n, double temperature, uint64_t seed) override;
    // Anchors: an image 1×C×H×W in [-1, 1]; the mask H×W (or 1×H×W) true where kept.
    std::unique_ptr<AutoregressiveSampler> sampler(const SamplerOptions& options) override;

    Metrics trainStep(const torch::Tensor& batch) override;
    Metrics evaluate(const torch::Tensor& batch) override;

    void setLearningRate(double lr) override;
    void to(torch::Device device) override;

    // Images in [-1, 1] ↔ 8-bit values.
    static torch::Tensor toValues(const torch::Tensor& x);
    static torch::Tensor fromValues(const torch::Tensor& values);

private:
    void makeOptimizer();

    std::unique_ptr<torch::optim::Adam> m_optimizer;
};

void registerPixelCnn(ModelRegistry& registry);

}  // namespace le
