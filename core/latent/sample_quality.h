#pragma once

// What samples are measured by, against real images, the same way in the Compare view and the
// CLI's `eval`: sharpness (variance of the Laplacian) and the high-frequency share of the
// radially averaged power spectrum, as ratios to the real images'; and the Fréchet distance in the
// features of the project's own classifier ("classifier_fd", not FID) against held-out images,
// beside its floor: the same distance for as many real images.

#include "core/storage/checkpoint.h"

#include <QString>

#include <limits>
#include <memory>
#include <vector>

namespace le {

struct ImageSet;

struct SampleReference {
    static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
    QString dataset;
    torch::Tensor real;  // the first `count` test images: the data's own row
    std::vector<double> spectrum;
    double sharpness = kNone, highFrequency = kNone;
    // The distances compare against `heldOut`, the test images after `real`.
    std::shared_ptr<LoadedClassifier> classifier;  // null: no classifier_fd (see note)
    QString classifierPath;
    torch::Tensor heldOutFeatures;
    int64_t heldOut = 0;
    double fdFloor = kNone;  // real against held-out
    QString note;            // why there is no classifier_fd, or the classifier's problem
};

// count real images of the test split, then up to `heldOut` more for the distances. The
// classifier: `classifierPath`, or the shipped one for the dataset; a missing or broken one leaves
// the distances out and says why in `note` (the rest is still measured). DataError when the split
// has fewer than 2 images.
SampleReference makeSampleReference(const ImageSet& test, const QString& dataset, int64_t count,
                                    int64_t heldOut, const QString& classifierPath = QString(),
                                    torch::Device device = torch::kCPU);

struct SampleQuality {
    static constexpr double kNone = SampleReference::kNone;
    std::vector<double> spectrum;
    double sharpness = kNone, sharpnessRatio = kNone;
    double highFrequency = kNone, highFrequencyRatio = kNone;
    double classifierFd = kNone;  // NaN without a classifier, or with non-finite samples
    int64_t nonFinite = 0;        // samples with a non-finite pixel
};

// A model's images at the data's shape: a model that pads (Fashion-MNIST 28 -> 32) is cropped
// back, so that measures compare the same pixels; anything else is fitted.
torch::Tensor toDataShape(const torch::Tensor& images, const ImageShape& data);

// samples: N×C×H×W in any shape (brought to the data's), judged as shown: clamped to [-1, 1].
SampleQuality measureSamples(const torch::Tensor& samples, const SampleReference& reference);

}  // namespace le
