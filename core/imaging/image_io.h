#pragma once

// Images at the edges: tensors to 8-bit cv::Mat and back, grids, image files out. Inside core,
// images are tensors in [-1, 1]. Mats handed to the GUI are CV_8UC1 (grey) or CV_8UC3 in RGB order
// (not OpenCV's BGR).

#include "core/data/dataset.h"

#include <opencv2/core.hpp>

namespace le {

// C×H×W (or 1×C×H×W) tensor in [-1, 1] -> 8-bit Mat, grey or RGB.
cv::Mat tensorToMat(const torch::Tensor& image);
// 8-bit grey or RGB Mat -> 1×C×H×W float tensor in [-1, 1].
torch::Tensor matToTensor(const cv::Mat& image);
// N images tiled into a grid with `columns` columns and a 1-pixel gap.
cv::Mat tileImages(const torch::Tensor& images, int columns, int gap = 1);
// Writes an 8-bit grey or RGB Mat; throws DataError naming the file on failure.
void writeImage(const QString& path, const cv::Mat& image);

}  // namespace le
