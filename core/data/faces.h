#pragma once

// Procedural faces drawn with OpenCV: seeded, deterministic, with their generating factors kept
// as labels so that a latent direction can be compared with the factor that made it.

#include "core/data/dataset.h"

#include <opencv2/core.hpp>

#include <array>

namespace le {

struct FaceFactors {
    // Each factor is in [0, 1]; names() gives them in this order.
    float faceWidth = 0.5f, faceHeight = 0.5f, skinTone = 0.5f, hairColour = 0.5f, hairShape = 0.5f,
          eyeSize = 0.5f, eyeSpacing = 0.5f, gazeX = 0.5f, eyebrowAngle = 0.5f, mouthCurve = 0.5f,
          glasses = 0.0f, background = 0.5f, lightDirection = 0.5f, poseShift = 0.5f;

    static constexpr int kCount = 14;
    static QStringList names();
    std::array<float, kCount> toArray() const;
    static FaceFactors fromArray(const std::array<float, kCount>& values);
    static FaceFactors random(uint64_t seed);  // deterministic for a seed
};

// Renders one face as an 8-bit RGB image of size×size (supersampled, then area-resized).
cv::Mat renderFace(const FaceFactors& factors, int size = 32);

struct FaceDatasetOptions {
    int size = 32;  // 32 by default, 64 as an option
    int64_t trainCount = 20000;
    int64_t testCount = 2000;
    uint64_t seed = 1;
};

// Deterministic for the options: the same seed gives the same tensors on every machine.
Dataset makeFaceDataset(const FaceDatasetOptions& options);

}  // namespace le
