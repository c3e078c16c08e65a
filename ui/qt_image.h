#pragma once

#include <QImage>

#include <opencv2/core.hpp>

namespace le {

// Deep copy of an 8-bit grey (CV_8UC1) or RGB (CV_8UC3) Mat into a QImage; null for anything else.
QImage matToQImage(const cv::Mat& mat);
// Deep copy of any QImage into an 8-bit RGB Mat (grey images stay grey); empty for a null image.
cv::Mat qImageToMat(const QImage& image);

}  // namespace le
