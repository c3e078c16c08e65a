#pragma once

// Image-quality numbers that compare models with data, on 8-bit images as a user would see them.

#include <torch/torch.h>

namespace le {

// Mean over images of the variance of the Laplacian (OpenCV, 3×3 kernel) on the 8-bit grey
// image: the standard blur measure; a blurry image has little high-frequency content.
double meanSharpness(const torch::Tensor& images);  // N×C×H×W in [-1, 1]

// Mean squared error per pixel on the [-1, 1] scale.
double reconstructionMse(const torch::Tensor& original, const torch::Tensor& reconstruction);

}  // namespace le
