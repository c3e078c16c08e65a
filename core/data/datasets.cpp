#include "core/data/datasets.h"

#include "core/data/faces.h"
#include "core/data/fashion_mnist.h"
#include "core/data/image_import.h"
#include "core/imaging/image_io.h"

#include <QMutexLocker>

namespace le {

Dataset loadDatasetByName(const QString& name, bool withTrain, int64_t limitTrain,
                          int64_t limitTest, const ImageShape& shape) {
    if (name == QLatin1String("fashion-mnist"))
        return loadFashionMnist(defaultFashionMnistDir(), withTrain ? limitTrain : 1, limitTest);
    if (name == QLatin1String("faces") || name == QLatin1String("faces64")) {
        FaceDatasetOptions options;
        options.size = name == QLatin1String("faces") ? 32 : 64;
        if (!withTrain)
            options.trainCount = 1;
        else if (limitTrain > 0)
            options.trainCount = limitTrain;
        if (limitTest > 0) options.testCount = limitTest;
        return makeFaceDataset(options);
    }
    ImportOptions options;
    options.shape = shape;
    ImportReport report;
    return importImages(name, options, &report);
}

DatasetCache& DatasetCache::instance() {
    static DatasetCache cache;
    return cache;
}

const Dataset& DatasetCache::get(const QString& name) {
    QMutexLocker lock(&m_mutex);
    auto found = m_sets.find(name);
    if (found == m_sets.end())
        found = m_sets.emplace(name, loadDatasetByName(name, /*withTrain=*/false, 0, 2000)).first;
    return found->second;  // std::map nodes never move
}

cv::Mat DatasetCache::item(const QString& name, int index) {
    const Dataset& data = get(name);
    const int64_t n = data.test.size();
    if (n == 0) return {};
    const int64_t i = ((index % n) + n) % n;
    return tensorToMat(data.test.images[i]);
}

int DatasetCache::size(const QString& name) {
    return int(get(name).test.size());
}

}  // namespace le
