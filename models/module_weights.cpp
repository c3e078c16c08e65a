#include "models/module_weights.h"

#include "models/generative_model.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

namespace le {

void saveModuleWeights(torch::nn::Module& module, std::ostream& out) {
    torch::serialize::OutputArchive archive;
    torch::NoGradGuard noGrad;
    for (const auto& p : module.named_parameters(/*recurse=*/true))
        archive.write(p.key(), p.value().detach().to(torch::kCPU));
    for (const auto& b : module.named_buffers(/*recurse=*/true))
        archive.write(b.key(), b.value().to(torch::kCPU), /*is_buffer=*/true);
    archive.save_to(out);
}

namespace {

bool startsWith(const std::string& key, const std::string& prefix) {
    return key.rfind(prefix, 0) == 0;
}

bool startsWithAny(const std::string& key, const std::vector<std::string>& prefixes) {
    for (const auto& prefix : prefixes)
        if (startsWith(key, prefix)) return true;
    return false;
}

// A prefix that names nothing is a typo, which would otherwise load every weight unasked.
void checkPrefixesNameWeights(torch::nn::Module& module, const std::vector<std::string>& fresh,
                              const std::string& owner) {
    const std::vector<std::string> keys = module.named_parameters(true).keys();
    for (const auto& prefix : fresh)
        if (std::none_of(keys.begin(), keys.end(),
                         [&](const std::string& key) { return startsWith(key, prefix); }))
            throw ModelError("this " + owner + " has no weights named '" + prefix + "...'");
}

}  // namespace

void loadModuleWeights(torch::nn::Module& module, std::istream& in, const std::string& owner,
                       const std::vector<std::string>& fresh) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(in);
    } catch (const c10::Error& e) {
        throw ModelError("the weights are not a readable LibTorch archive (" +
                         std::string(e.what_without_backtrace()) + ")");
    }
    checkPrefixesNameWeights(module, fresh, owner);
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, stored)
    std::set<std::string> expected;
    auto collect = [&](const std::string& key, const torch::Tensor& target, bool isBuffer) {
        if (startsWithAny(key, fresh)) return;
        expected.insert(key);
        torch::Tensor stored;
        if (!archive.try_read(key, stored, isBuffer))
            throw ModelError("the weights lack '" + key + "' (another architecture?)");
        if (stored.sizes() != target.sizes()) {
            std::ostringstream msg;
            msg << "weight '" << key << "' has shape " << stored.sizes() << " but this " << owner
                << " needs " << target.sizes();
            throw ModelError(msg.str());
        }
        copies.emplace_back(target, stored);
    };
    for (const auto& p : module.named_parameters(true)) collect(p.key(), p.value(), false);
    for (const auto& b : module.named_buffers(true)) collect(b.key(), b.value(), true);
    for (const auto& key : archive.keys())
        if (!expected.count(key) && !startsWithAny(key, fresh))
            throw ModelError("the weights hold '" + key + "', which this " + owner +
                             " does not have (another architecture?)");
    torch::NoGradGuard noGrad;
    for (auto& [target, stored] : copies) target.copy_(stored);
}

}  // namespace le
