#pragma once

// The datasets by name: the built-in ones ("fashion-mnist", "faces", "faces64") or a folder or
// file of images, loaded whole or as the test split a view needs, kept once loaded.

#include "core/data/dataset.h"

#include <QMutex>
#include <QString>

#include <opencv2/core.hpp>

#include <map>

namespace le {

// Loads the dataset a checkpoint was trained on ("fashion-mnist", "faces", "faces64", a path).
// Only a token train split is loaded unless `withTrain`; `shape` applies to image folders.
Dataset loadDatasetByName(const QString& name, bool withTrain, int64_t limitTrain = 0,
                          int64_t limitTest = 0, const ImageShape& shape = ImageShape{3, 32, 32});

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
