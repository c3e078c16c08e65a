#include "ui/qt_image.h"

namespace le {

QImage matToQImage(const cv::Mat& mat) {
    if (mat.empty() || mat.depth() != CV_8U) return {};
    QImage::Format format;
    switch (mat.channels()) {
        case 1:
            format = QImage::Format_Grayscale8;
            break;
        case 3:
            format = QImage::Format_RGB888;
            break;
        default:
            return {};
    }
    const QImage view(mat.data, mat.cols, mat.rows, static_cast<qsizetype>(mat.step), format);
    return view.copy();  // the Mat's buffer belongs to the worker's result
}

cv::Mat qImageToMat(const QImage& image) {
    if (image.isNull()) return {};
    const bool grey = image.isGrayscale();
    const QImage converted =
        image.convertToFormat(grey ? QImage::Format_Grayscale8 : QImage::Format_RGB888);
    const cv::Mat view(converted.height(), converted.width(), grey ? CV_8UC1 : CV_8UC3,
                       const_cast<uchar*>(converted.constBits()),
                       static_cast<size_t>(converted.bytesPerLine()));
    return view.clone();
}

}  // namespace le
