#include "models/generative_model.h"

#include "models/training_recipe.h"

#include "models/module_weights.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <iomanip>
#include <sstream>

namespace le {

std::string ImageShape::toString() const {
    return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

std::string ModelConfig::getString(const std::string& key, const std::string& fallback) const {
    auto it = m_values.find(key);
    return it == m_values.end() ? fallback : it->second;
}

int64_t ModelConfig::getInt(const std::string& key, int64_t fallback) const {
    auto it = m_values.find(key);
    if (it == m_values.end()) return fallback;
    try {
        size_t used = 0;
        const long long v = std::stoll(it->second, &used);
        if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw ModelError("config key '" + key + "' must be an integer, got '" + it->second + "'");
}

double ModelConfig::getDouble(const std::string& key, double fallback) const {
    auto it = m_values.find(key);
    if (it == m_values.end()) return fallback;
    try {
        size_t used = 0;
        const double v = std::stod(it->second, &used);
        if (used == it->second.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    throw ModelError("config key '" + key + "' must be a finite number, got '" + it->second + "'");
}

int64_t ModelConfig::getIntIn(const std::string& key, int64_t fallback, int64_t min,
                              int64_t max) const {
    const int64_t v = getInt(key, fallback);
    if (v < min || v > max)
        throw ModelError(key + " must be in " + std::to_string(min) + ".." + std::to_string(max) +
                         ", got " + std::to_string(v));
    return v;
}

double ModelConfig::getLearningRate(const std::string& key, double fallback) const {
    const double v = getDouble(key, fallback);
    if (!(v > 0.0 && v <= 1.0))
        throw ModelError(key + " must be in (0, 1], got " + getString(key, std::to_string(v)));
    return v;
}

void ModelConfig::set(const std::string& key, double value) {
    std::ostringstream s;
    s << std::setprecision(17) << value;
    m_values[key] = s.str();
}

torch::Tensor GenerativeModel::encode(const torch::Tensor&) {
    throw ModelError(family() + " cannot encode images");
}

torch::Tensor GenerativeModel::decode(const torch::Tensor&) {
    throw ModelError(family() + " cannot decode latents");
}

torch::Tensor GenerativeModel::samplePrior(int64_t, double, uint64_t) {
    throw ModelError(family() + " has no latent prior");
}

InversionResult GenerativeModel::invert(const torch::Tensor&, const InversionOptions&,
                                        const InversionProgress&) {
    throw ModelError(family() + " cannot invert images by optimisation");
}

std::unique_ptr<AutoregressiveSampler> GenerativeModel::sampler(const SamplerOptions&) {
    throw ModelError(family() + " is not autoregressive");
}

Metrics readScalars(const std::vector<std::pair<std::string, torch::Tensor>>& scalars) {
    Metrics out;
    if (scalars.empty()) return out;
    std::vector<torch::Tensor> values;
    values.reserve(scalars.size());
    for (const auto& s : scalars)
        values.push_back(s.second.detach().reshape({}).to(torch::kDouble));
    const torch::Tensor host = torch::stack(values).cpu();
    const double* data = host.data_ptr<double>();
    for (size_t i = 0; i < scalars.size(); ++i) out[scalars[i].first] = data[i];
    return out;
}

Metrics GenerativeModel::trainEncoderStep(int64_t) {
    throw ModelError(family() + ": has no encoder to train after the model");
}

void GenerativeModel::checkTemperature(double temperature) const {
    // 0 would collapse every family to a single point (or divide by zero in a softmax).
    if (!(temperature > 0.0 && std::isfinite(temperature)))
        throw ModelError(family() + ": temperature must be a finite number > 0, got " +
                         std::to_string(temperature));
}

void GenerativeModel::checkLatentBatch(const torch::Tensor& z, const char* what) const {
    if (z.defined() && z.dim() == 2 && z.size(1) == latentDim()) return;
    std::ostringstream msg;
    msg << what << ": expects latents of shape N×" << latentDim() << ", got ";
    if (z.defined())
        msg << z.sizes();
    else
        msg << "no tensor";
    throw ModelError(msg.str());
}

void GenerativeModel::checkLearningRate(double lr) const {
    if (!(lr > 0.0 && std::isfinite(lr)))
        throw ModelError(family() + ": learning rate must be > 0, got " + std::to_string(lr));
}

torch::Tensor GenerativeModel::standardNormalLatents(int64_t n, int64_t dim, double temperature,
                                                     uint64_t seed) const {
    if (n < 0) throw ModelError(family() + ": cannot draw " + std::to_string(n) + " latents");
    checkTemperature(temperature);
    at::Generator gen = at::detail::createCPUGenerator(seed);
    return (torch::randn({n, dim}, gen, torch::kFloat) * temperature).to(m_device);
}

torch::Tensor GenerativeModel::sample(int64_t n, double temperature, uint64_t seed) {
    if (!capabilities().decode) throw ModelError(family() + " cannot sample");
    torch::NoGradGuard noGrad;
    return decode(samplePrior(n, temperature, seed));
}

void GenerativeModel::to(torch::Device device) {
    module().to(device);
    if (WeightAverage* average = weightAverage()) average->to(device);
    m_device = device;
}

void GenerativeModel::checkImageBatch(const torch::Tensor& x, const char* what) const {
    const ImageShape s = imageShape();
    if (!x.defined() || x.dim() != 4 || x.size(1) != s.channels || x.size(2) != s.height ||
        x.size(3) != s.width) {
        std::ostringstream msg;
        msg << what << ": " << family() << " expects images of shape N×" << s.channels << "×"
            << s.height << "×" << s.width << ", got ";
        if (!x.defined())
            msg << "no tensor";
        else
            msg << x.sizes();
        throw ModelError(msg.str());
    }
}

void GenerativeModel::saveWeights(std::ostream& out) {
    saveModuleWeights(module(), out);
}

void GenerativeModel::loadWeights(std::istream& in, const std::vector<std::string>& fresh) {
    loadModuleWeights(module(), in, family(), fresh);
}

ImageShape imageShapeFromConfig(const ModelConfig& config) {
    ImageShape s;
    s.channels = config.getInt("channels", 1);
    s.height = config.getInt("height", 28);
    s.width = config.getInt("width", 28);
    if (s.channels != 1 && s.channels != 3)
        throw ModelError("images must have 1 or 3 channels, got " + std::to_string(s.channels));
    if (s.height < 8 || s.width < 8 || s.height > 256 || s.width > 256)
        throw ModelError("image size " + s.toString() + " is outside 8..256 pixels");
    return s;
}

void writeImageShape(ModelConfig& config, const ImageShape& shape) {
    config.set("channels", shape.channels);
    config.set("height", shape.height);
    config.set("width", shape.width);
}

torch::Device defaultDevice() {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

torch::Device parseDevice(const std::string& name) {
    if (name == "auto") return defaultDevice();
    if (name == "cpu") return torch::kCPU;
    if (name.rfind("cuda", 0) == 0) {
        if (!torch::cuda::is_available())
            throw ModelError("device '" + name +
                             "' requested but this LibTorch has no CUDA device");
        try {
            return torch::Device(name);
        } catch (const c10::Error&) {
        }
    }
    throw ModelError("unknown device '" + name + "' (use auto, cpu or cuda)");
}

}  // namespace le
