#include "models/module_weights.h"

#include "models/generative_model.h"

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

void loadModuleWeights(torch::nn::Module& module, std::istream& in, const std::string& owner) {
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(in);
    } catch (const c10::Error& e) {
        throw ModelError("the weights are not a readable LibTorch archive (" +
                         std::string(e.what_without_backtrace()) + ")");
    }
    std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, stored)
    std::set<std::string> expected;
    auto collect = [&](const std::string& key, const torch::Tensor& target, bool isBuffer) {
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
        if (!expected.count(key))
            throw ModelError("the weights hold '" + key + "', which this " + owner +
                             " does not have (another architecture?)");
    torch::NoGradGuard noGrad;
    for (auto& [target, stored] : copies) target.copy_(stored);
}

}  // namespace le
