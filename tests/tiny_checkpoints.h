#pragma once

// Untrained models of every family, small enough to build, save and run in milliseconds, for the
// view tests: one configuration per family and a writer that saves one as a checkpoint the
// catalog lists under the given dataset.

#include "core/storage/checkpoint.h"
#include "models/generative_model.h"

#include <QString>

#include <initializer_list>
#include <string>
#include <utility>

namespace le::test {

// The smallest configuration of each family that still exercises its whole forward pass.
inline ModelConfig tinyConfig(const std::string& family) {
    ModelConfig c;
    if (family == "vae" || family == "dcgan") {
        c.set("hidden", int64_t{family == "vae" ? 8 : 4});
        c.set("latent", int64_t{4});
    } else if (family == "glow") {
        c.set("levels", int64_t{2});
        c.set("steps", int64_t{2});
        c.set("hidden", int64_t{8});
    } else if (family == "pixelcnn") {
        c.set("hidden", int64_t{8});
        c.set("layers", int64_t{2});
    } else if (family == "vqvae") {
        c.set("hidden", int64_t{8});
        c.set("codes", int64_t{8});
        c.set("code_dim", int64_t{4});
        c.set("prior_hidden", int64_t{8});
        c.set("prior_layers", int64_t{2});
    }
    return c;
}

// A freshly initialised model of `family` (seeded, so two calls give the same weights).
inline std::unique_ptr<GenerativeModel> makeTinyModel(const std::string& family, ModelConfig config,
                                                      const ImageShape& shape, uint64_t seed = 5) {
    writeImageShape(config, shape);
    torch::manual_seed(seed);
    return ModelRegistry::instance().create(family, config);
}

// Saves a freshly initialised model as a checkpoint of `dataset`; returns the path.
inline QString writeTinyCheckpoint(const QString& path, const std::string& family,
                                   const ModelConfig& config, const ImageShape& shape,
                                   const QString& dataset, uint64_t seed = 5) {
    auto model = makeTinyModel(family, config, shape, seed);
    CheckpointHeader header;
    header.dataset = dataset;
    saveCheckpoint(path, *model, header);
    return path;
}

inline QString writeTinyCheckpoint(const QString& path, const std::string& family,
                                   const ImageShape& shape, const QString& dataset) {
    return writeTinyCheckpoint(path, family, tinyConfig(family), shape, dataset);
}

// Writes one tiny checkpoint per (file name, family) pair into `dir`.
inline void writeTinyCheckpoints(const QString& dir,
                                 std::initializer_list<std::pair<const char*, const char*>> files,
                                 const ImageShape& shape, const QString& dataset) {
    for (const auto& [file, family] : files)
        writeTinyCheckpoint(dir + '/' + file, family, shape, dataset);
}

}  // namespace le::test
