#pragma once

// Images fitted to a model's shape: channels converted, padded or resized, as tensors or as the
// 8-bit Mats a view shows.

#include "core/data/dataset.h"

#include <opencv2/core.hpp>

namespace le {

// N×C×H×W in [-1, 1] -> the shape's channels (grey <-> RGB) and size: a smaller image is centred
// on a background of -1 when both sides grow by an even amount (Fashion-MNIST 28 -> 32),
// resized (area) otherwise.
torch::Tensor fitToShape(const torch::Tensor& images, const ImageShape& shape);

// An 8-bit grey or RGB Mat -> 1×C×H×W fitted to the shape.
torch::Tensor matForModel(const cv::Mat& image, const ImageShape& shape);
// An 8-bit Mat fitted to the shape, as an 8-bit Mat again (what a model will see of it).
cv::Mat fitMatToShape(const cv::Mat& image, const ImageShape& shape);

}  // namespace le
