#include "core/imaging/image_io.h"

#include "core/errors.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <mutex>

namespace le {

cv::Mat tensorToMat(const torch::Tensor& image) {
    torch::Tensor t = image.detach();
    if (t.dim() == 4 && t.size(0) == 1) t = t[0];
    TORCH_CHECK(t.dim() == 3 && (t.size(0) == 1 || t.size(0) == 3),
                "tensorToMat expects C×H×W with C 1 or 3, got ", t.sizes());
    t = t.to(torch::kCPU, torch::kFloat)
            .add(1.0)
            .mul_(127.5)
            .round_()
            .clamp_(0, 255)
            .to(torch::kUInt8)
            .permute({1, 2, 0})
            .contiguous();
    const int c = int(t.size(2));
    cv::Mat wrapped(int(t.size(0)), int(t.size(1)), CV_8UC(c), t.data_ptr<uint8_t>());
    return wrapped.clone();
}

torch::Tensor matToTensor(const cv::Mat& image) {
    CV_Assert(image.depth() == CV_8U && (image.channels() == 1 || image.channels() == 3));
    const cv::Mat m = image.isContinuous() ? image : image.clone();
    return torch::from_blob(m.data, {1, m.rows, m.cols, m.channels()}, torch::kUInt8)
        .permute({0, 3, 1, 2})
        .to(torch::kFloat)
        .div_(127.5)
        .sub_(1.0)
        .contiguous();
}

cv::Mat tileImages(const torch::Tensor& images, int columns, int gap) {
    torch::Tensor t = images.dim() == 3 ? images.unsqueeze(0) : images;
    TORCH_CHECK(t.dim() == 4, "tileImages expects N×C×H×W, got ", images.sizes());
    const int n = int(t.size(0));
    if (n == 0) return {};
    columns = std::clamp(columns, 1, n);
    const int rows = (n + columns - 1) / columns;
    const int h = int(t.size(2)), w = int(t.size(3)), c = int(t.size(1));
    cv::Mat grid((h + gap) * rows + gap, (w + gap) * columns + gap, CV_8UC(c), cv::Scalar::all(0));
    for (int i = 0; i < n; ++i) {
        const cv::Rect cell(gap + (i % columns) * (w + gap), gap + (i / columns) * (h + gap), w, h);
        tensorToMat(t[i]).copyTo(grid(cell));
    }
    return grid;
}

void writeImage(const QString& path, const cv::Mat& image) {
    if (image.empty()) fileError(path, QStringLiteral("nothing to write: the image is empty"));
    if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3))
        fileError(path, QStringLiteral("only 8-bit grey or RGB images can be written"));
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix.isEmpty())
        fileError(path, QStringLiteral("no file extension to choose a format by"));
    cv::Mat bgr;
    if (image.channels() == 3)
        cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
    else
        bgr = image;
    std::vector<uint8_t> bytes;
    try {
        if (!cv::imencode("." + suffix.toStdString(), bgr, bytes))
            fileError(path, QStringLiteral("OpenCV could not encode the image as .%1").arg(suffix));
    } catch (const cv::Exception& e) {
        fileError(
            path,
            QStringLiteral("cannot encode as .%1: %2").arg(suffix, QString::fromStdString(e.err)));
    }
    // QSaveFile writes beside the target and renames over it: never a half-written image.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        fileError(path, QStringLiteral("cannot write: ") + file.errorString());
    file.write(reinterpret_cast<const char*>(bytes.data()), qint64(bytes.size()));
    if (!file.commit()) fileError(path, QStringLiteral("cannot write: ") + file.errorString());
}

}  // namespace le
