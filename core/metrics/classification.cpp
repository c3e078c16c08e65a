#include "core/metrics/classification.h"

#include "core/errors.h"
#include "core/data/faces.h"
#include "core/metrics/metrics.h"

#include <ATen/CPUGeneratorImpl.h>

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include <cmath>

namespace le {
namespace {

// Factor columns, in FaceFactors::names() order.
constexpr int64_t kHairColour = 3;
constexpr int64_t kHairShape = 4;
constexpr int64_t kGlasses = 10;
constexpr float kGlassesDrawn = 0.6f;  // renderFace draws glasses above this

void checkSplit(const ImageSet& set, const torch::Tensor& labels, const char* split) {
    if (set.size() == 0) throw DataError(std::string("the ") + split + " split is empty");
    if (!labels.defined() || labels.dim() != 1 || labels.size(0) != set.size())
        throw DataError(std::string("the ") + split + " split needs one class per image");
}

torch::Tensor labelsOrFaceClasses(const ImageSet& set) {
    if (set.labels.defined()) return set.labels.to(torch::kLong);
    return faceClasses(set.factors);
}

}  // namespace

torch::Tensor faceClasses(const torch::Tensor& factors) {
    if (!factors.defined() || factors.dim() != 2 || factors.size(1) != FaceFactors::kCount)
        throw DataError("face classes need the N×14 face factors");
    const torch::Tensor style =
        (factors.select(1, kHairShape) * 3).floor().clamp(0, 2).to(torch::kLong);
    const torch::Tensor light = factors.select(1, kHairColour).ge(0.5f).to(torch::kLong);
    const torch::Tensor glasses = factors.select(1, kGlasses).gt(kGlassesDrawn).to(torch::kLong);
    return style * 4 + light * 2 + glasses;
}

QStringList faceClassNames() {
    QStringList names;
    for (const char* style : {"short", "fringe", "long"})
        for (const char* tone : {"dark", "light"})
            for (const char* glasses : {"", " + glasses"})
                names << QStringLiteral("%1 %2 hair%3").arg(tone, style, glasses);
    return names;
}

ClassifierTarget classifierTarget(const Dataset& data) {
    ClassifierTarget target;
    if (data.train.labels.defined() && data.test.labels.defined()) {
        target.classNames = data.classNames;
        target.description =
            QStringLiteral("the dataset's own %1 classes").arg(data.classNames.size());
    } else if (data.train.factors.defined() && data.test.factors.defined()) {
        target.classNames = faceClassNames();
        target.description = QStringLiteral(
            "12 face classes: hair style (hairShape in thirds: short, fringe, long) x hair tone "
            "(hairColour < 0.5: dark, else light) x glasses (glasses > 0.6); class = 4*style + "
            "2*tone + glasses");
    } else {
        throw DataError(QStringLiteral("%1 has neither class labels nor face factors: the "
                                       "classifier has nothing to learn")
                            .arg(data.name)
                            .toStdString());
    }
    target.train = labelsOrFaceClasses(data.train);
    target.test = labelsOrFaceClasses(data.test);
    return target;
}

Metrics evaluateClassifier(Classifier& classifier, const torch::Tensor& images,
                           const torch::Tensor& labels, qint64 batchSize) {
    const qint64 n = images.size(0);
    if (n == 0) throw DataError("classifier evaluation needs at least one image");
    Metrics sum;
    for (qint64 i = 0; i < n; i += batchSize) {
        const qint64 end = std::min(n, i + batchSize);
        const Metrics m = classifier.evaluate(images.slice(0, i, end), labels.slice(0, i, end));
        for (const auto& [name, value] : m) sum[name] += value * double(end - i);
    }
    for (auto& entry : sum) entry.second /= double(n);
    return sum;
}

ClassifierTrainResult trainClassifier(Classifier& classifier, const Dataset& data,
                                      const ClassifierTarget& target,
                                      const ClassifierTrainOptions& options,
                                      const ClassifierProgress& progress) {
    checkSplit(data.train, target.train, "training");
    checkSplit(data.test, target.test, "test");
    if (options.steps <= 0) throw DataError("training needs at least one step");
    if (options.batchSize <= 0) throw DataError("the batch size must be positive");
    classifier.checkImageBatch(data.train.images.slice(0, 0, 1), "training data");

    QElapsedTimer timer;
    timer.start();
    const double lr0 = options.learningRate > 0 ? options.learningRate : classifier.options().lr;
    torch::Generator generator = at::detail::createCPUGenerator(options.seed);
    const qint64 n = data.train.size();
    const qint64 batch = std::min(options.batchSize, n);
    torch::Tensor order;
    qint64 cursor = 0;
    for (qint64 step = 1; step <= options.steps; ++step) {
        if (!order.defined() || cursor + batch > n) {
            order = torch::randperm(n, generator, torch::kLong);
            cursor = 0;
        }
        const torch::Tensor rows = order.slice(0, cursor, cursor + batch);
        cursor += batch;
        const double progressed = double(step - 1) / double(options.steps);
        classifier.setLearningRate(lr0 * (0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * progressed))));
        const Metrics m = classifier.trainStep(data.train.images.index_select(0, rows),
                                               target.train.index_select(0, rows));
        if (!std::isfinite(m.at("loss")))
            throw DataError(
                QStringLiteral("classifier training diverged at step %1").arg(step).toStdString());
        if (progress) progress(step, options.steps, m);
    }
    classifier.setLearningRate(lr0);

    const qint64 evalN = options.evalImages > 0
                             ? std::min<qint64>(options.evalImages, data.test.size())
                             : data.test.size();
    ClassifierTrainResult result;
    result.steps = options.steps;
    result.heldOut = evaluateClassifier(classifier, data.test.images.slice(0, 0, evalN),
                                        target.test.slice(0, 0, evalN));
    result.wallS = timer.nsecsElapsed() / 1e9;
    return result;
}

torch::Tensor classifierFeatures(Classifier& classifier, const torch::Tensor& images,
                                 qint64 batchSize) {
    std::vector<torch::Tensor> parts;
    for (qint64 i = 0; i < images.size(0); i += batchSize)
        parts.push_back(
            classifier.features(images.slice(0, i, std::min<qint64>(images.size(0), i + batchSize)))
                .to(torch::kCPU));
    if (parts.empty()) return torch::empty({0, classifier.featureDim()});
    return torch::cat(parts);
}

double classifierFrechetDistance(Classifier& classifier, const torch::Tensor& imagesA,
                                 const torch::Tensor& imagesB) {
    return frechetDistance(classifierFeatures(classifier, imagesA),
                           classifierFeatures(classifier, imagesB));
}

QString shippedClassifierPath(const QString& dataset) {
    if (dataset.isEmpty() || dataset.contains('/') || dataset.contains('\\'))
        return {};  // an image folder: nothing ships for it
    const QString file = QStringLiteral("classifier_%1.lec").arg(dataset);
    QStringList candidates;
    if (QCoreApplication::instance())
        candidates << QDir(QCoreApplication::applicationDirPath())
                          .filePath(QStringLiteral("../share/latent-explorer/pretrained/") + file);
#ifdef LE_SOURCE_DIR
    candidates << QDir(QStringLiteral(LE_SOURCE_DIR))
                      .filePath(QStringLiteral("models/pretrained/") + file);
#endif
    for (const QString& path : candidates)
        if (QFileInfo(path).isFile()) return QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    return {};
}

}  // namespace le
