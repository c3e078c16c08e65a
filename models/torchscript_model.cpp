#include "models/torchscript_model.h"

#include <torch/version.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

namespace le {
namespace {

constexpr const char* kFamilyPrefix = "torchscript-";
// Decoded values may overshoot the declared range by this fraction of its width (rounding in
// a tanh or a sigmoid); anything further is a model that does not follow the contract.
constexpr double kRangeTolerance = 0.01;
constexpr int64_t kProbeLatents = 2;
constexpr uint64_t kProbeSeed = 1;

struct KindInfo {
    const char* kind;
    const char* title;
    ModelKind modelKind;
    const char* boundName;
};

constexpr std::array<KindInfo, 6> kKinds{{
    {"vae", "TorchScript VAE", ModelKind::VariationalAutoencoder, "ELBO"},
    {"gan", "TorchScript GAN", ModelKind::Adversarial, "bound"},
    {"flow", "TorchScript flow", ModelKind::Flow, "bound"},
    {"autoregressive", "TorchScript autoregressive", ModelKind::Autoregressive, "bound"},
    {"hybrid", "TorchScript hybrid", ModelKind::Hybrid, "bound"},
    {"other", "TorchScript", ModelKind::Other, "bound"},
}};

const KindInfo* kindInfo(const std::string& kind) {
    for (const KindInfo& k : kKinds)
        if (kind == k.kind) return &k;
    return nullptr;
}

std::string fileName(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

// LibTorch's messages run to many lines of context; the first says what happened, after the
// "[enforce fail at file.cc:123] . " that some carry.
std::string firstLine(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    if (line.rfind("[enforce fail at ", 0) == 0) {
        const size_t end = line.find("] ");
        if (end != std::string::npos) line = line.substr(end + 2);
        if (line.rfind(". ", 0) == 0) line = line.substr(2);
    }
    return line;
}

bool contains(const std::string& text, const char* part) {
    return text.find(part) != std::string::npos;
}

// What a torch::jit::load failure means to someone who exported the file.
std::string loadProblem(const std::string& message) {
    if (contains(message, "maximum supported version") ||
        contains(message, "kMaxSupportedFileFormatVersion") ||
        contains(message, "Your PyTorch installation may be too old"))
        return "was saved by a newer PyTorch than this LibTorch " TORCH_VERSION
               " reads (save it with torch 1.13, or use a build on a newer LibTorch): " +
               firstLine(message);
    if (contains(message, "central directory") || contains(message, "zip archive") ||
        contains(message, "file read failed"))
        return "is not a readable TorchScript file (damaged, truncated or not a zip archive): " +
               firstLine(message);
    if (contains(message, "constants.pkl") || contains(message, "data.pkl") ||
        contains(message, "failed finding") || contains(message, "locating file") ||
        contains(message, "not in a subdirectory"))
        return "is a zip archive but not a TorchScript module (save it with torch.jit.save, not "
               "torch.save): " +
               firstLine(message);
    return "could not be read as TorchScript: " + firstLine(message);
}

std::string shapeText(const torch::Tensor& t) {
    std::ostringstream s;
    s << t.sizes();
    return s.str();
}

}  // namespace

const std::vector<std::string>& torchScriptContractMethods() {
    static const std::vector<std::string> methods{"decode", "encode", "log_prob", "elbo",
                                                  "sample_latent"};
    return methods;
}

std::string torchScriptFamily(const std::string& kind) {
    return kFamilyPrefix + kind;
}

bool isTorchScriptFamily(const std::string& family) {
    return family.rfind(kFamilyPrefix, 0) == 0;
}

bool isTorchScriptKind(const std::string& kind) {
    return kindInfo(kind) != nullptr;
}

const FamilyInfo* torchScriptFamilyInfo(const std::string& family) {
    static const std::map<std::string, FamilyInfo> infos = [] {
        std::map<std::string, FamilyInfo> out;
        for (const KindInfo& k : kKinds) {
            FamilyInfo info;
            info.title = k.title;
            info.kind = k.modelKind;
            info.temperatureMeaning =
                "z ~ N(0, T²·I), or the model's own sample_latent(n, T, seed)";
            info.boundName = k.boundName;
            out.emplace(torchScriptFamily(k.kind), info);
        }
        return out;
    }();
    auto it = infos.find(family);
    return it == infos.end() ? nullptr : &it->second;
}

TorchScriptFile readTorchScriptFile(const std::string& path) {
    const std::string name = fileName(path);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw ModelError(name + ": does not exist or is not a file");
    torch::jit::ExtraFilesMap extra{{kTorchScriptMetadataFile, ""}};
    TorchScriptFile file;
    try {
        file.module = torch::jit::load(path, torch::kCPU, extra);
    } catch (const c10::Error& e) {
        throw ModelError(name + ": " + loadProblem(e.what_without_backtrace()));
    } catch (const std::exception& e) {
        throw ModelError(name + ": " + loadProblem(e.what()));
    }
    file.module.eval();
    file.metadata = extra[kTorchScriptMetadataFile];
    for (const std::string& method : torchScriptContractMethods())
        if (file.module.find_method(method)) file.methods.push_back(method);
    return file;
}

Capabilities torchScriptCapabilities(const std::vector<std::string>& methods) {
    auto has = [&](const char* m) {
        return std::find(methods.begin(), methods.end(), m) != methods.end();
    };
    Capabilities caps;
    caps.decode = has("decode");
    caps.sample = caps.decode;
    caps.encode = has("encode");
    caps.exactLikelihood = has("log_prob");
    caps.likelihoodBound = !caps.exactLikelihood && has("elbo");
    return caps;
}

TorchScriptModel::TorchScriptModel(torch::jit::Module module, TorchScriptMetadata metadata,
                                   std::string name)
    : m_script(std::move(module)), m_metadata(std::move(metadata)), m_name(std::move(name)) {
    m_script.eval();
    for (const std::string& method : torchScriptContractMethods())
        if (m_script.find_method(method)) m_methods.push_back(method);
    validate();
}

std::string TorchScriptModel::family() const {
    return torchScriptFamily(m_metadata.kind);
}

Capabilities TorchScriptModel::capabilities() const {
    return torchScriptCapabilities(m_methods);
}

ModelConfig TorchScriptModel::config() const {
    ModelConfig config;
    config.set("kind", m_metadata.kind);
    config.set("title", m_metadata.title);
    config.set("latent", m_metadata.latentSize);
    std::string methods;
    for (const std::string& m : m_methods) methods += (methods.empty() ? "" : ",") + m;
    config.set("methods", methods);
    writeImageShape(config, m_metadata.shape);
    return config;
}

void TorchScriptModel::fail(const std::string& problem) const {
    throw ModelError(m_name + ": " + problem);
}

bool TorchScriptModel::has(const char* method) const {
    return std::find(m_methods.begin(), m_methods.end(), method) != m_methods.end();
}

torch::Tensor TorchScriptModel::call(const char* method, std::vector<c10::IValue> inputs) {
    if (!has(method)) fail(std::string("has no ") + method + " method");
    // Nothing here trains the module, so no method builds a graph.
    torch::NoGradGuard noGrad;
    c10::IValue out;
    try {
        out = m_script.get_method(method)(std::move(inputs));
    } catch (const c10::Error& e) {
        fail(std::string(method) + " failed: " + firstLine(e.what_without_backtrace()));
    } catch (const ModelError&) {
        throw;
    } catch (const std::exception& e) {
        fail(std::string(method) + " failed: " + firstLine(e.what()));
    }
    if (!out.isTensor())
        fail(std::string(method) + " returned a " + out.tagKind() + ", not a tensor");
    return out.toTensor().to(m_device, torch::kFloat);
}

torch::Tensor TorchScriptModel::toModelRange(const torch::Tensor& x) const {
    if (m_metadata.low == -1.0 && m_metadata.high == 1.0) return x;
    return (x + 1.0) * (0.5 * (m_metadata.high - m_metadata.low)) + m_metadata.low;
}

torch::Tensor TorchScriptModel::fromModelRange(const torch::Tensor& y) const {
    if (m_metadata.low == -1.0 && m_metadata.high == 1.0) return y;
    return (y - m_metadata.low) * (2.0 / (m_metadata.high - m_metadata.low)) - 1.0;
}

void TorchScriptModel::checkImages(const torch::Tensor& y, int64_t n, const char* what) const {
    const ImageShape s = m_metadata.shape;
    if (y.dim() != 4 || y.size(0) != n || y.size(1) != s.channels || y.size(2) != s.height ||
        y.size(3) != s.width)
        fail(std::string(what) + " returned a tensor of shape " + shapeText(y) +
             "; the metadata's image_shape asks for " + std::to_string(n) + "x" + s.toString());
}

torch::Tensor TorchScriptModel::decode(const torch::Tensor& z) {
    checkLatentBatch(z, "decode");
    const torch::Tensor y = call("decode", {z.to(m_device, torch::kFloat)});
    checkImages(y, z.size(0), "decode");
    return fromModelRange(y);
}

torch::Tensor TorchScriptModel::encode(const torch::Tensor& x) {
    checkImageBatch(x, "encode");
    const torch::Tensor z = call("encode", {toModelRange(x.to(m_device, torch::kFloat))});
    if (z.dim() != 2 || z.size(0) != x.size(0) || z.size(1) != latentDim())
        fail("encode returned a tensor of shape " + shapeText(z) + " for " +
             std::to_string(x.size(0)) + " images; latent_size asks for " +
             std::to_string(x.size(0)) + "x" + std::to_string(latentDim()));
    return z;
}

torch::Tensor TorchScriptModel::samplePrior(int64_t n, double temperature, uint64_t seed) {
    checkTemperature(temperature);
    if (!has("sample_latent")) return standardNormalLatents(n, latentDim(), temperature, seed);
    const auto scriptSeed = int64_t(seed & uint64_t(std::numeric_limits<int64_t>::max()));
    const torch::Tensor z = call("sample_latent", {n, temperature, scriptSeed});
    if (z.dim() != 2 || z.size(0) != n || z.size(1) != latentDim())
        fail("sample_latent(" + std::to_string(n) + ", ...) returned a tensor of shape " +
             shapeText(z) + "; latent_size asks for " + std::to_string(n) + "x" +
             std::to_string(latentDim()));
    return z;
}

Metrics TorchScriptModel::trainStep(const torch::Tensor&) {
    fail("TorchScript models are not trained here (train it in Python and export it again)");
}

void TorchScriptModel::setLearningRate(double) {
    fail("TorchScript models are not trained here (train it in Python and export it again)");
}

void TorchScriptModel::to(torch::Device device) {
    m_script.to(device);
    m_device = device;
}

Metrics TorchScriptModel::evaluate(const torch::Tensor& batch) {
    checkImageBatch(batch, "evaluate");
    torch::NoGradGuard noGrad;
    const torch::Tensor x = batch.to(m_device, torch::kFloat);
    const int64_t n = x.size(0);
    Metrics metrics;
    const char* likelihood = has("log_prob") ? "log_prob" : has("elbo") ? "elbo" : nullptr;
    if (likelihood) {
        const torch::Tensor logp = call(likelihood, {toModelRange(x)});
        if (logp.dim() != 1 || logp.size(0) != n)
            fail(std::string(likelihood) + " returned a tensor of shape " + shapeText(logp) +
                 "; the contract asks for one value per image (" + std::to_string(n) + ")");
        const double nll = -logp.mean().item<double>();
        metrics["loss"] = nll;
        if (has("log_prob")) metrics["nll"] = nll;
        metrics["bpd"] = nll / (double(imageShape().numel()) * std::log(2.0));
    }
    if (has("encode")) {
        const double mse = (decode(encode(x)) - x).pow(2).mean().item<double>();
        metrics["recon_mse"] = mse;
        if (!likelihood) metrics["loss"] = mse;
    }
    // A decoder alone has nothing to measure on held-out images; its samples still are.
    if (!metrics.count("loss")) metrics["loss"] = std::numeric_limits<double>::quiet_NaN();
    return metrics;
}

void TorchScriptModel::validate() {
    const TorchScriptMetadata& m = m_metadata;
    if (!isTorchScriptKind(m.kind)) fail("metadata kind '" + m.kind + "' is not in the contract");
    if (m.shape.channels <= 0 || m.shape.height <= 0 || m.shape.width <= 0)
        fail("metadata image_shape " + m.shape.toString() + " is not a valid C×H×W");
    if (m.latentSize <= 0)
        fail("metadata latent_size must be positive, got " + std::to_string(m.latentSize));
    if (!(m.low < m.high) || !std::isfinite(m.low) || !std::isfinite(m.high))
        fail("metadata value_range must be [low, high] with low < high");
    if (!has("decode"))
        fail(
            "has no decode method (the contract requires decode(z: Tensor[N, latent]) -> "
            "Tensor[N, C, H, W])");

    // Two latents through every method present: wrong shapes and ranges fail at open, not in
    // the middle of a view.
    const torch::Tensor z = samplePrior(kProbeLatents, 1.0, kProbeSeed);
    const torch::Tensor raw = call("decode", {z});
    checkImages(raw, kProbeLatents, "decode");
    if (!torch::isfinite(raw).all().item<bool>()) fail("decode returned non-finite values");
    const double lo = raw.min().item<double>(), hi = raw.max().item<double>();
    const double slack = kRangeTolerance * (m.high - m.low);
    if (lo < m.low - slack || hi > m.high + slack) {
        std::ostringstream s;
        s << "decode returned values in [" << lo << ", " << hi
          << "], outside the metadata's value_range [" << m.low << ", " << m.high << "]";
        fail(s.str());
    }
    const torch::Tensor x = fromModelRange(raw).clamp(-1.0, 1.0);
    if (has("encode") && !torch::isfinite(encode(x)).all().item<bool>())
        fail("encode returned non-finite values");
    if ((has("log_prob") || has("elbo")) && !std::isfinite(evaluate(x).at("loss")))
        fail(std::string(has("log_prob") ? "log_prob" : "elbo") + " returned non-finite values");
}

}  // namespace le
