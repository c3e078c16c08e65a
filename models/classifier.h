#pragma once

// A small CNN classifier: the project's own feature extractor for a Fréchet distance between
// model samples and held-out images (see core/metrics.h: "classifier_fd", never called FID, since
// these are not Inception features). Not a GenerativeModel: it maps images to classes.
//
// Three blocks of conv3×3 + BatchNorm + ReLU + max-pool 2 (hidden, 2·hidden, 4·hidden channels),
// then a fully connected layer to `features` units with ReLU (the penultimate layer, what
// features() returns) and a linear head to `classes` logits. Images N×C×H×W in [-1, 1], 1 or 3
// channels, 8..256 pixels a side (1×28×28 Fashion-MNIST and 3×32×32 faces are what ships).
//
// Config keys: channels, height, width, classes (default 10, 2..1000), hidden (16, 4..128),
// features (128, 8..1024), lr (1e-3, Adam).

#include "models/generative_model.h"

#include <iosfwd>
#include <memory>
#include <string>

namespace le {

struct ClassifierOptions {
    ImageShape shape;
    int64_t classes = 10;
    int64_t hidden = 16;
    int64_t features = 128;
    double lr = 1e-3;

    static ClassifierOptions fromConfig(const ModelConfig& config);  // validates, ModelError
    ModelConfig toConfig() const;
};

class ClassifierNetImpl : public torch::nn::Module {
public:
    explicit ClassifierNetImpl(const ClassifierOptions& options);

    torch::Tensor features(const torch::Tensor& x);  // N×C×H×W -> N×features (after ReLU)
    torch::Tensor forward(const torch::Tensor& x);   // N×C×H×W -> N×classes logits

    torch::nn::Sequential trunk{nullptr};
    torch::nn::Linear embed{nullptr};
    torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ClassifierNet);

// The network with its optimiser, trained by steps like the generative families.
class Classifier {
public:
    static constexpr const char* kFamily = "classifier";

    explicit Classifier(const ClassifierOptions& options);

    const ClassifierOptions& options() const { return m_options; }
    ModelConfig config() const { return m_options.toConfig(); }
    ImageShape imageShape() const { return m_options.shape; }
    int64_t classes() const { return m_options.classes; }
    int64_t featureDim() const { return m_options.features; }

    // One Adam step on images with int64 labels in [0, classes): "loss" (cross-entropy) and
    // "accuracy" on the batch.
    Metrics trainStep(const torch::Tensor& images, const torch::Tensor& labels);
    // Mean "loss" and "accuracy" on a batch, in eval mode, without gradients.
    Metrics evaluate(const torch::Tensor& images, const torch::Tensor& labels);
    // Eval mode (BatchNorm's running statistics), without gradients, on the model's device.
    torch::Tensor features(const torch::Tensor& images);
    torch::Tensor logits(const torch::Tensor& images);

    void setLearningRate(double lr);
    torch::nn::Module& module() { return *m_net; }
    ClassifierNet net() const { return m_net; }
    torch::Device device() const { return m_device; }
    void to(torch::Device device);
    void train(bool on) { m_net->train(on); }

    void saveWeights(std::ostream& out);
    void loadWeights(std::istream& in);  // validated by name and shape; ModelError

    // ModelError naming the expected and actual shape if x is not an image batch for this model.
    void checkImageBatch(const torch::Tensor& x, const char* what) const;

private:
    void checkLabels(const torch::Tensor& labels, int64_t n, const char* what) const;

    ClassifierOptions m_options;
    ClassifierNet m_net;
    std::unique_ptr<torch::optim::Adam> m_optimizer;
    torch::Device m_device{torch::kCPU};
};

}  // namespace le
