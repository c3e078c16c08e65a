#pragma once

// The synchronous engine behind the interactive worker: loads checkpoints, builds the latent map,
// decodes latents to 8-bit images. A plain class so that tests can drive it without threads.
// Owns every tensor and module; hands out only value types (below) and cv::Mat.

#include "core/data/dataset.h"
#include "core/storage/model_cache.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include <opencv2/core.hpp>

#include <memory>

namespace le {

class GenerativeModel;

struct ModelInfo {
    QString checkpointPath;
    QString family;
    QString dataset;
    QString device;  // "cpu", "cuda:0"
    ImageShape shape;
    int64_t latentDim = 0;
    Capabilities capabilities;
    int64_t steps = 0;
};

// The encoded test split projected on its principal directions: the 2-D map shows components
// 0 and 1, sliders move along the first `components.size()`.
struct LatentMap {
    QVector<float> x, y;                 // per point: coordinates along components 0 and 1
    QVector<int> labels;                 // per point: class index, or -1
    QStringList classNames;              // label names
    QString source;                      // what the points are, for the legend
    QVector<float> mean;                 // latentDim
    QVector<QVector<float>> components;  // k × latentDim, unit length, by decreasing variance
    QVector<float> stddev;               // k: spread of the data along each component
    QVector<float> explained;            // k: fraction of variance explained

    int componentCount() const { return components.size(); }
    // mean + Σ coords[i]·components[i] (missing coordinates count as 0).
    QVector<float> latentFor(const QVector<float>& coords) const;
    // Coordinates of a latent along each component.
    QVector<float> coordsFor(const QVector<float>& latent) const;
};

class ModelEngine {
public:
    ModelEngine();
    ~ModelEngine();

    // Loads (or takes from the cache) a checkpoint on a device; the model becomes current.
    // Throws DataError naming the file on any problem.
    ModelInfo load(const QString& checkpointPath, const QString& device = QStringLiteral("auto"));
    // Loads (or takes from the cache) a checkpoint without making it current: the models that
    // score the current one's images. `info`, when given, receives what load() would return.
    std::shared_ptr<GenerativeModel> model(const QString& checkpointPath,
                                           const QString& device = QStringLiteral("auto"),
                                           ModelInfo* info = nullptr);
    bool hasModel() const { return m_current != nullptr; }
    ModelInfo currentInfo() const { return m_info; }
    GenerativeModel& current();

    // Encodes up to maxPoints test images of `data` and runs PCA (k components).
    LatentMap buildLatentMap(const Dataset& data, int components = 8, int maxPoints = 4000);
    // One latent -> one 8-bit image (grey or RGB), converted on the model's device.
    cv::Mat decode(const QVector<float>& latent);

private:
    ModelCache m_cache;  // this engine's thread's models, by (path, device)
    std::shared_ptr<GenerativeModel> m_current;
    ModelInfo m_info;
};

}  // namespace le

Q_DECLARE_METATYPE(le::ModelInfo)
Q_DECLARE_METATYPE(le::LatentMap)
