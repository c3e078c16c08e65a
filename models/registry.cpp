#include "models/dcgan.h"
#include "models/generative_model.h"
#include "models/glow.h"
#include "models/pixelcnn.h"
#include "models/vae.h"
#include "models/vqvae.h"

namespace le {

ModelRegistry::ModelRegistry() {
    // Explicit registration: static initialisers in a static library would be dropped by the
    // linker.
    registerVae(*this);
    registerDcgan(*this);
    registerGlow(*this);
    registerPixelCnn(*this);
    registerVqVae(*this);
}

ModelRegistry& ModelRegistry::instance() {
    static ModelRegistry registry;
    return registry;
}

void ModelRegistry::add(const std::string& family, ModelFactory factory) {
    m_factories[family] = std::move(factory);
}

bool ModelRegistry::has(const std::string& family) const {
    return m_factories.count(family) != 0;
}

std::vector<std::string> ModelRegistry::families() const {
    std::vector<std::string> names;
    for (const auto& entry : m_factories) names.push_back(entry.first);
    return names;
}

std::unique_ptr<GenerativeModel> ModelRegistry::create(const std::string& family,
                                                       const ModelConfig& config,
                                                       torch::Device device) const {
    auto it = m_factories.find(family);
    if (it == m_factories.end()) {
        std::string known;
        for (const auto& name : families()) known += (known.empty() ? "" : ", ") + name;
        throw ModelError("unknown model family '" + family + "' (known: " + known + ")");
    }
    std::unique_ptr<GenerativeModel> model;
    try {
        model = it->second(config);
    } catch (const ModelError& e) {
        // Name the family once, whoever raised the error (a family's own check or ModelConfig).
        const std::string what = e.what();
        if (what.rfind(family + ":", 0) == 0) throw;
        throw ModelError(family + ": " + what);
    }
    model->to(device);
    return model;
}

}  // namespace le
