#include "core/latent/sample_quality.h"

#include "core/data/dataset.h"
#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/metrics/classification.h"
#include "core/metrics/metrics.h"

#include <QFileInfo>

namespace le {

SampleReference makeSampleReference(const ImageSet& test, const QString& dataset, int64_t count,
                                    int64_t heldOut, const QString& classifierPath,
                                    torch::Device device) {
    const int64_t n = test.size();
    count = std::min<int64_t>(count, n);
    if (count < 2)
        throw DataError(QStringLiteral("%1: needs at least 2 test images, has %2")
                            .arg(dataset)
                            .arg(n)
                            .toStdString());
    torch::NoGradGuard noGrad;
    SampleReference r;
    r.dataset = dataset;
    r.real = test.images.slice(0, 0, count);
    r.spectrum = radialPowerSpectrum(r.real);
    r.sharpness = meanSharpness(r.real);
    r.highFrequency = highFrequencyShare(r.spectrum);
    const torch::Tensor held = test.images.slice(0, count, std::min<int64_t>(n, count + heldOut));
    r.heldOut = held.size(0);
    r.classifierPath = classifierPath.isEmpty() ? shippedClassifierPath(dataset) : classifierPath;
    if (r.classifierPath.isEmpty()) {
        r.note = QStringLiteral("no shipped classifier for dataset %1").arg(dataset);
    } else if (r.heldOut < 2) {
        r.note = QStringLiteral("%1: fewer than 2 held-out test images after the first %2")
                     .arg(dataset)
                     .arg(count);
    } else {
        try {
            r.classifier = std::make_shared<LoadedClassifier>(
                loadClassifierCheckpoint(r.classifierPath, device));
            Classifier& classifier = *r.classifier->classifier;
            const ImageShape shape = classifier.imageShape();
            r.heldOutFeatures = classifierFeatures(classifier, fitToShape(held, shape));
            r.fdFloor = frechetDistance(classifierFeatures(classifier, fitToShape(r.real, shape)),
                                        r.heldOutFeatures);
        } catch (const std::exception& e) {
            r.classifier.reset();
            r.note = QString::fromUtf8(e.what());
        }
    }
    return r;
}

torch::Tensor toDataShape(const torch::Tensor& images, const ImageShape& data) {
    torch::Tensor x = images;
    const int64_t dh = x.size(2) - data.height, dw = x.size(3) - data.width;
    if (dh > 0 && dw > 0 && dh % 2 == 0 && dw % 2 == 0)
        x = x.slice(2, dh / 2, dh / 2 + data.height).slice(3, dw / 2, dw / 2 + data.width);
    return fitToShape(x, data);
}

SampleQuality measureSamples(const torch::Tensor& samples, const SampleReference& reference) {
    torch::NoGradGuard noGrad;
    const torch::Tensor& real = reference.real;
    const ImageShape shape{real.size(1), real.size(2), real.size(3)};
    const torch::Tensor raw = toDataShape(samples.to(torch::kCPU, torch::kFloat), shape);
    SampleQuality q;
    q.nonFinite = (~torch::isfinite(raw)).flatten(1).any(1).sum().item<int64_t>();
    const torch::Tensor shown = torch::nan_to_num(raw, 0.0).clamp(-1, 1);
    q.spectrum = radialPowerSpectrum(shown);
    q.sharpness = meanSharpness(shown);
    q.highFrequency = highFrequencyShare(q.spectrum);
    if (reference.sharpness > 0) q.sharpnessRatio = q.sharpness / reference.sharpness;
    if (reference.highFrequency > 0)
        q.highFrequencyRatio = q.highFrequency / reference.highFrequency;
    if (reference.classifier && q.nonFinite == 0 && shown.size(0) >= 2) {
        Classifier& classifier = *reference.classifier->classifier;
        q.classifierFd = frechetDistance(
            classifierFeatures(classifier, fitToShape(shown, classifier.imageShape())),
            reference.heldOutFeatures);
    }
    return q;
}

}  // namespace le
