#pragma once

// What every family's GenerativeModel holds the same way: its validated options (the config it
// saves), its networks as one module tree (what checkpoints store) and the moving average of the
// weights it samples with. A family derives from FamilyModel<ItsOptions, ItsNet> and writes only
// what is its own: the networks' use, the losses, the optimisers.

#include "models/generative_model.h"
#include "models/training_recipe.h"

#include <utility>

namespace le {

// Options: has `shape` and `toConfig()`. Net: a torch::nn::ModuleHolder.
template <class Options, class Net>
class FamilyModel : public GenerativeModel {
public:
    ModelConfig config() const override { return m_options.toConfig(); }
    ImageShape imageShape() const override { return m_options.shape; }
    torch::nn::Module& module() override { return *m_net; }
    WeightAverage* weightAverage() override { return &m_average; }

    const Options& options() const { return m_options; }
    // The networks themselves (tests, diagnostics).
    Net& net() { return m_net; }

protected:
    FamilyModel(Options options, Net net) : m_options(std::move(options)), m_net(std::move(net)) {}

    Options m_options;
    Net m_net;
    WeightAverage m_average;  // a family decides what it averages (reset in its constructor)
};

}  // namespace le
