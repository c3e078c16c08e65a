#pragma once

// Reads a Latent Explorer checkpoint (.lec) with LibTorch and the standard library alone, for the
// device check, which builds where Qt is absent (a GPU machine with only a LibTorch). The
// container is core/storage/checkpoint.h's: a signature line, a JSON header, the weights as a
// LibTorch archive, a SHA-256 trailer. This reader takes only what it needs to rebuild the model
// (family, config, image shape) and does not verify the checksum: it reads the project's own
// shipped files, which tst_pretrained verifies in full.

#include "models/generative_model.h"

#include <memory>
#include <string>

namespace le::device {

struct LecFile {
    std::string family;
    std::string dataset;
    ModelConfig config;  // with the image shape written in
    std::string weights;
};

// Throws ModelError naming the file for anything it cannot read.
LecFile readLecFile(const std::string& path);

// The file's model on `device`, its weights loaded.
std::unique_ptr<GenerativeModel> loadLecModel(const LecFile& file, torch::Device device);

}  // namespace le::device
