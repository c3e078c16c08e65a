#include "models/dcgan.h"
#include "models/generative_model.h"
#include "models/glow.h"
#include "models/pixelcnn.h"
#include "models/vae.h"
#include "models/vaegan.h"
#include "models/vqvae.h"
#include "models/vqvae2.h"

namespace le {

ModelRegistry::ModelRegistry() {
    // Explicit registration: static initialisers in a static library would be dropped by the
    // linker.
    registerVae(*this);
    registerDcgan(*this);
    registerGlow(*this);
    registerPixelCnn(*this);
    registerVqVae(*this);
    registerVaeGan(*this);
    registerVqVae2(*this);
}

ModelRegistry& ModelRegistry::instance() {
    static ModelRegistry registry;
    return registry;
}

void ModelRegistry::add(const std::string& family, FamilyInfo info, ModelFactory factory) {
    if (!m_families.count(family)) m_order.push_back(family);
    m_families[family] = Family{std::move(info), std::move(factory)};
}

bool ModelRegistry::has(const std::string& family) const {
    return m_families.count(family) != 0;
}

std::vector<std::string> ModelRegistry::families() const {
    return m_order;
}

const FamilyInfo& ModelRegistry::info(const std::string& family) const {
    auto it = m_families.find(family);
    if (it == m_families.end()) throw ModelError("unknown model family '" + family + "'");
    return it->second.info;
}

std::unique_ptr<GenerativeModel> ModelRegistry::create(const std::string& family,
                                                       const ModelConfig& config,
                                                       torch::Device device) const {
    auto it = m_families.find(family);
    if (it == m_families.end()) {
        std::string known;
        for (const auto& name : families()) known += (known.empty() ? "" : ", ") + name;
        throw ModelError("unknown model family '" + family + "' (known: " + known + ")");
    }
    std::unique_ptr<GenerativeModel> model;
    try {
        model = it->second.factory(config);
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
