#include "qt_image.h"

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

}  // namespace le
