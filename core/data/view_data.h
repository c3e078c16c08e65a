#pragma once

// Images for the views, at a model's shape: dataset items and imported files as 8-bit Mats, and
// tensors fitted to a model (channels converted, padded or resized). Used from job threads.

#include "core/data/dataset.h"

#include <QMutex>
#include <QString>

#include <opencv2/core.hpp>

#include <map>

namespace le {

// N×C×H×W in [-1, 1] -> the shape's channels (grey <-> RGB) and size: a smaller image is centred
// on a background of -1 when both sides grow by an even amount (Fashion-MNIST 28 -> 32),
// resized (area) otherwise.
torch::Tensor fitToShape(const torch::Tensor& images, const ImageShape& shape);

// An 8-bit grey or RGB Mat -> 1×C×H×W fitted to the shape.
torch::Tensor matForModel(const cv::Mat& image, const ImageShape& shape);
// An 8-bit Mat fitted to the shape, as an 8-bit Mat again (what a model will see of it).
cv::Mat fitMatToShape(const cv::Mat& image, const ImageShape& shape);

// Test-split images of the named datasets, loaded once per name and kept (thread-safe).
class DatasetCache {
public:
    static DatasetCache& instance();
    // The test split of `name` ("fashion-mnist", "faces", "faces64", a folder). DataError if
    // it cannot be loaded.
    const Dataset& get(const QString& name);
    // Test image `index` (wrapped into range) as an 8-bit Mat at its own shape.
    cv::Mat item(const QString& name, int index);
    int size(const QString& name);

private:
    QMutex m_mutex;
    std::map<QString, Dataset> m_sets;
};

}  // namespace le
