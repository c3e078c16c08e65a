#pragma once

// The project's own classifier (models/classifier.h) at work on the datasets: what it learns
// (the target), its training loop, held-out accuracy, features in batches, and where the shipped
// ones live. Its features give "classifier_fd" (core/metrics.h), named so, never FID.

#include "models/classifier.h"
#include "core/data/dataset.h"

#include <QString>
#include <QStringList>

#include <functional>

namespace le {

// One class index per image of each split.
struct ClassifierTarget {
    torch::Tensor train, test;  // N int64
    QStringList classNames;
    QString description;  // how the classes were made, for headers and recipes
};

// Fashion-MNIST: its ten classes. The procedural faces carry factors, not labels; their target is
// 12 classes from three factors that stay visible at 32×32 and that a latent map may mix:
// hair style (short / fringe / long: hairShape in thirds) × hair tone (dark / light: hairColour
// below or above 0.5) × glasses (drawn when glasses > 0.6, as the renderer does). Class =
// 4·style + 2·tone + glasses. Throws DataError for a dataset with neither labels nor face factors.
ClassifierTarget classifierTarget(const Dataset& data);
torch::Tensor faceClasses(const torch::Tensor& factors);  // N×14 face factors -> N int64
QStringList faceClassNames();

struct ClassifierTrainOptions {
    qint64 steps = 3000;
    qint64 batchSize = 64;
    quint64 seed = 1;         // the shuffle (initial weights follow torch::manual_seed)
    double learningRate = 0;  // 0: the classifier's own
    qint64 evalImages = 0;    // held-out images for the final accuracy; 0: the whole test split
};

struct ClassifierTrainResult {
    qint64 steps = 0;
    Metrics heldOut;  // "loss", "accuracy" on the test split
    double wallS = 0;
};

// Called after each step with that step's "loss" and "accuracy".
using ClassifierProgress = std::function<void(qint64 step, qint64 totalSteps, const Metrics&)>;

// Adam with the learning rate falling along a cosine to 5% of its start by the last step: a
// short run ends settled instead of on the noise of a constant rate. DataError for an empty split
// or images of the wrong shape.
ClassifierTrainResult trainClassifier(Classifier& classifier, const Dataset& data,
                                      const ClassifierTarget& target,
                                      const ClassifierTrainOptions& options,
                                      const ClassifierProgress& progress = {});

// Mean loss and accuracy over the images, in batches, without gradients.
Metrics evaluateClassifier(Classifier& classifier, const torch::Tensor& images,
                           const torch::Tensor& labels, qint64 batchSize = 500);

// N×featureDim on the CPU, in batches.
torch::Tensor classifierFeatures(Classifier& classifier, const torch::Tensor& images,
                                 qint64 batchSize = 500);

// Fréchet distance between the classifier's features of two image sets (each at least 2 images).
double classifierFrechetDistance(Classifier& classifier, const torch::Tensor& imagesA,
                                 const torch::Tensor& imagesB);

// The shipped classifier for a dataset ("classifier_<dataset>.lec"): installed beside the
// executable first, then models/pretrained in the source tree this was built from. Empty if none.
QString shippedClassifierPath(const QString& dataset);

}  // namespace le
