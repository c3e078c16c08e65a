#pragma once

// Pictures made of model outputs, for the views and their exports: strips of interpolation frames
// and their video, per-pixel error heat maps, and code grids in colour. 8-bit Mats in, 8-bit RGB
// Mats out (OpenCV, no Gui).

#include <QString>
#include <QVector>

#include <opencv2/core.hpp>

#include <vector>

namespace le {

// The strips stacked as rows, frames side by side, every cell resized (nearest) to cellSize
// and converted to RGB, with a gap of `gap` pixels. Empty strips are skipped.
cv::Mat composeStrips(const std::vector<std::vector<cv::Mat>>& strips, int cellSize, int gap = 2);
// One video frame: frame `index` of every strip, stacked vertically, each cellSize square.
cv::Mat composeFrame(const std::vector<std::vector<cv::Mat>>& strips, int index, int cellSize,
                     int gap = 2);
// An MP4 (OpenCV's 'mp4v' encoder) that plays the strips forward then back. Throws DataError
// naming the file when OpenCV cannot open a writer for it or nothing was written.
void writeInterpolationVideo(const QString& path, const std::vector<std::vector<cv::Mat>>& strips,
                             double fps, int cellSize);

// The per-pixel absolute error of two 8-bit images as an RGB heat map.
cv::Mat errorHeatMap(const cv::Mat& a, const cv::Mat& b);

// A colour per code that stays distinct for neighbours (hues spaced by the golden angle), RGB.
cv::Vec3b codeColour(int code);
// Row-major codes (rows×cols) as an RGB image of cellSize-pixel cells.
cv::Mat colourCodeGrid(const QVector<int>& codes, int rows, int cols, int cellSize);

}  // namespace le
