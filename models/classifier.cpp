#include "models/classifier.h"

#include "models/layers.h"
#include "models/module_weights.h"

#include <cmath>
#include <sstream>

namespace le {
namespace {

[[noreturn]] void configError(const std::string& what) {
    throw ModelError("classifier: " + what);
}

void addConvBlock(torch::nn::Sequential& trunk, int64_t in, int64_t out) {
    trunk->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
    trunk->push_back(torch::nn::BatchNorm2d(out));
    trunk->push_back(torch::nn::ReLU());
    trunk->push_back(torch::nn::MaxPool2d(2));
}

// Three max-pools of 2 floor the size three times: 28 -> 14 -> 7 -> 3, 32 -> 16 -> 8 -> 4.
int64_t pooledSize(int64_t size) {
    return size / 2 / 2 / 2;
}

}  // namespace

ClassifierOptions ClassifierOptions::fromConfig(const ModelConfig& config) {
    ClassifierOptions o;
    try {
        o.shape = imageShapeFromConfig(config);
        o.classes = config.getIntIn("classes", o.classes, 2, 1000);
        o.hidden = config.getIntIn("hidden", o.hidden, 4, 128);
        o.features = config.getIntIn("features", o.features, 8, 1024);
        o.lr = config.getLearningRate("lr", o.lr);
    } catch (const ModelError& e) {
        configError(e.what());
    }
    return o;
}

ModelConfig ClassifierOptions::toConfig() const {
    ModelConfig c;
    writeImageShape(c, shape);
    c.set("classes", classes);
    c.set("hidden", hidden);
    c.set("features", features);
    c.set("lr", lr);
    return c;
}

ClassifierNetImpl::ClassifierNetImpl(const ClassifierOptions& o) {
    const int64_t h = o.hidden;
    torch::nn::Sequential layers;
    addConvBlock(layers, o.shape.channels, h);
    addConvBlock(layers, h, 2 * h);
    addConvBlock(layers, 2 * h, 4 * h);
    layers->push_back(torch::nn::Flatten());
    trunk = register_module("trunk", layers);
    const int64_t flat = 4 * h * pooledSize(o.shape.height) * pooledSize(o.shape.width);
    embed = register_module("embed", torch::nn::Linear(flat, o.features));
    head = register_module("head", torch::nn::Linear(o.features, o.classes));
}

torch::Tensor ClassifierNetImpl::features(const torch::Tensor& x) {
    return torch::relu(embed->forward(trunk->forward(x)));
}

torch::Tensor ClassifierNetImpl::forward(const torch::Tensor& x) {
    return head->forward(features(x));
}

Classifier::Classifier(const ClassifierOptions& options)
    : m_options(options), m_net(ClassifierNet(options)) {
    m_optimizer = std::make_unique<torch::optim::Adam>(m_net->parameters(),
                                                       torch::optim::AdamOptions(options.lr));
}

void Classifier::checkImageBatch(const torch::Tensor& x, const char* what) const {
    const ImageShape& s = m_options.shape;
    if (x.defined() && x.dim() == 4 && x.size(1) == s.channels && x.size(2) == s.height &&
        x.size(3) == s.width)
        return;
    std::ostringstream msg;
    msg << what << ": the classifier expects images of shape N×" << s.toString() << ", got ";
    if (x.defined())
        msg << x.sizes();
    else
        msg << "no tensor";
    throw ModelError(msg.str());
}

void Classifier::checkLabels(const torch::Tensor& labels, int64_t n, const char* what) const {
    if (!labels.defined() || labels.dim() != 1 || labels.size(0) != n)
        throw ModelError(std::string(what) + ": needs one label per image (" + std::to_string(n) +
                         ")");
    if (n == 0) return;
    const int64_t lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
    if (lo < 0 || hi >= m_options.classes)
        throw ModelError(std::string(what) + ": labels must be in 0.." +
                         std::to_string(m_options.classes - 1) + ", got " + std::to_string(lo) +
                         ".." + std::to_string(hi));
}

Metrics Classifier::trainStep(const torch::Tensor& images, const torch::Tensor& labels) {
    checkImageBatch(images, "classifier trainStep");
    checkLabels(labels, images.size(0), "classifier trainStep");
    ModeGuard training(*m_net, true);
    const torch::Tensor y = labels.to(m_device, torch::kLong);
    const torch::Tensor logits = m_net->forward(images.to(m_device, torch::kFloat));
    const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    m_optimizer->zero_grad();
    loss.backward();
    m_optimizer->step();
    const double accuracy =
        logits.detach().argmax(1).eq(y).to(torch::kDouble).mean().item<double>();
    return {{"loss", loss.item<double>()}, {"accuracy", accuracy}};
}

Metrics Classifier::evaluate(const torch::Tensor& images, const torch::Tensor& labels) {
    checkLabels(labels, images.size(0), "classifier evaluate");
    const torch::Tensor y = labels.to(m_device, torch::kLong);
    const torch::Tensor out = logits(images);
    const double loss = torch::nn::functional::cross_entropy(out, y).item<double>();
    const double accuracy = out.argmax(1).eq(y).to(torch::kDouble).mean().item<double>();
    return {{"loss", loss}, {"accuracy", accuracy}};
}

torch::Tensor Classifier::features(const torch::Tensor& images) {
    checkImageBatch(images, "classifier features");
    torch::NoGradGuard noGrad;
    ModeGuard eval(*m_net, false);
    return m_net->features(images.to(m_device, torch::kFloat));
}

torch::Tensor Classifier::logits(const torch::Tensor& images) {
    checkImageBatch(images, "classifier logits");
    torch::NoGradGuard noGrad;
    ModeGuard eval(*m_net, false);
    return m_net->forward(images.to(m_device, torch::kFloat));
}

void Classifier::setLearningRate(double lr) {
    if (!(lr > 0.0 && std::isfinite(lr)))
        throw ModelError("classifier: learning rate must be > 0, got " + std::to_string(lr));
    m_options.lr = lr;
    for (auto& group : m_optimizer->param_groups())
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

void Classifier::to(torch::Device device) {
    if (device == m_device) return;
    m_net->to(device);
    m_device = device;
    // Adam's moment estimates live on the old device; start them afresh rather than mix devices.
    m_optimizer = std::make_unique<torch::optim::Adam>(m_net->parameters(),
                                                       torch::optim::AdamOptions(m_options.lr));
}

void Classifier::saveWeights(std::ostream& out) {
    saveModuleWeights(*m_net, out);
}

void Classifier::loadWeights(std::istream& in) {
    loadModuleWeights(*m_net, in, kFamily);
}

}  // namespace le
