#pragma once

// The in-memory tensor store every data source lands in, with a fixed train/test split.

#include "models/generative_model.h"

#include <QString>
#include <QStringList>

#include <torch/torch.h>

namespace le {

struct ImageSet {
    torch::Tensor images;   // N×C×H×W float32 in [-1, 1], CPU, contiguous
    torch::Tensor labels;   // N int64 class indices, or undefined when the source has none
    torch::Tensor factors;  // N×K float32 generating factors (procedural faces), or undefined

    int64_t size() const { return images.defined() ? images.size(0) : 0; }
    ImageSet slice(int64_t begin, int64_t end) const;  // rows [begin, end)
    ImageSet index(const torch::Tensor& rows) const;   // rows by int64 index tensor
};

struct Dataset {
    QString name;  // "fashion-mnist", "faces", "faces64", or the folder / file it came from
    ImageShape shape;
    QStringList classNames;   // one per label value; empty when unlabelled
    QStringList factorNames;  // one per factor column; empty when none
    ImageSet train;
    ImageSet test;
};

}  // namespace le
