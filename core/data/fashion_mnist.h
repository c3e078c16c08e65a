#pragma once

#include "core/data/dataset.h"

namespace le {

// Where Debian's dataset-fashion-mnist puts the four idx .gz files.
QString defaultFashionMnistDir();

// Reads one gzip'd idx file: images (magic 2051) as N×1×28×28 uint8 or labels (2049) as N int64.
// Throws DataError naming the file and the problem (missing, not gzip, bad magic, truncated, ...).
torch::Tensor readIdxImages(const QString& path);
torch::Tensor readIdxLabels(const QString& path);

// The whole dataset (60000 train, 10000 test), images scaled to [-1, 1], with class names.
// `limitTrain`/`limitTest` > 0 keep only the first rows (for tests and quick runs).
Dataset loadFashionMnist(const QString& dir = defaultFashionMnistDir(), int64_t limitTrain = 0,
                         int64_t limitTest = 0);

}  // namespace le
