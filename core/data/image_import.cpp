#include "core/data/image_import.h"

#include "core/errors.h"
#include "core/imaging/image_io.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <mutex>

namespace le {

namespace {

// "path: reason" -> "reason", for the import report that names files by their short name.
QString reasonOf(const DataError& e, const QString& path) {
    const QString msg = QString::fromStdString(e.what());
    const QString prefix = QDir::toNativeSeparators(path) + QStringLiteral(": ");
    return msg.startsWith(prefix) ? msg.mid(prefix.size()) : msg;
}

// libjpeg decodes a cut-off JPEG without complaint and fills the rest with grey, so look for
// the end-of-image marker. Scan data cannot contain it (0xFF is byte-stuffed), and some files
// carry trailing data, so allow a little slack after it.
bool jpegLooksTruncated(const QByteArray& bytes) {
    if (bytes.size() < 4 || uint8_t(bytes[0]) != 0xFF || uint8_t(bytes[1]) != 0xD8) return false;
    const int from = std::max(2, int(bytes.size()) - 4096);
    for (int i = int(bytes.size()) - 2; i >= from; --i)
        if (uint8_t(bytes[i]) == 0xFF && uint8_t(bytes[i + 1]) == 0xD9) return false;
    return true;
}

// Alpha composited on white: transparent regions read as paper, not as black.
cv::Mat dropAlpha(const cv::Mat& bgra) {
    std::vector<cv::Mat> ch;
    cv::split(bgra, ch);
    cv::Mat alpha;
    ch.back().convertTo(alpha, CV_32F, 1.0 / 255.0);
    ch.pop_back();
    for (cv::Mat& c : ch) {
        cv::Mat f;
        c.convertTo(f, CV_32F);
        f = f.mul(alpha) + (1.0 - alpha) * 255.0;
        f.convertTo(c, CV_8U);
    }
    cv::Mat out;
    cv::merge(ch, out);
    return out;
}

}  // namespace

cv::Mat readImageFile(const QString& path) {
    const QFileInfo info(path);
    if (!info.exists()) fileError(path, QStringLiteral("does not exist"));
    if (!info.isFile()) fileError(path, QStringLiteral("is not a file"));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        fileError(path, QStringLiteral("cannot open: ") + file.errorString());
    const QByteArray bytes = file.readAll();
    if (bytes.isEmpty()) fileError(path, QStringLiteral("is empty"));
    if (jpegLooksTruncated(bytes))
        fileError(path, QStringLiteral("truncated JPEG (no end-of-image marker)"));

    cv::Mat decoded;
    try {
        const cv::Mat buf(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.constData()));
        decoded = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        fileError(path, QStringLiteral("cannot decode: ") + QString::fromStdString(e.err));
    }
    if (decoded.empty())
        fileError(path, QStringLiteral("cannot decode: corrupt, truncated or not an image format "
                                       "OpenCV reads"));

    // Any depth to 8 bits.
    cv::Mat eight;
    switch (decoded.depth()) {
        case CV_8U:
            eight = decoded;
            break;
        case CV_16U:
            decoded.convertTo(eight, CV_8U, 255.0 / 65535.0);
            break;
        case CV_32F:
        case CV_64F:
            decoded.convertTo(eight, CV_8U, 255.0);
            break;  // float images are [0, 1]
        default:
            fileError(
                path,
                QStringLiteral("unsupported pixel depth (OpenCV type %1)").arg(decoded.type()));
    }

    cv::Mat rgb;
    switch (eight.channels()) {
        case 1:
            cv::cvtColor(eight, rgb, cv::COLOR_GRAY2RGB);
            break;
        case 2: {  // grey + alpha
            std::vector<cv::Mat> ch;
            cv::split(eight, ch);
            cv::Mat ga;
            cv::merge(std::vector<cv::Mat>{ch[0], ch[0], ch[0], ch[1]}, ga);
            cv::cvtColor(dropAlpha(ga), rgb, cv::COLOR_BGR2RGB);
            break;
        }
        case 3:
            cv::cvtColor(eight, rgb, cv::COLOR_BGR2RGB);
            break;
        case 4:
            cv::cvtColor(dropAlpha(eight), rgb, cv::COLOR_BGR2RGB);
            break;
        default:
            fileError(path, QStringLiteral("unsupported channel count %1").arg(eight.channels()));
    }
    return rgb;
}

QString defaultFaceCascadePath() {
    return QStringLiteral("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml");
}

cv::Rect detectLargestFace(const cv::Mat& rgb, double margin) {
    // One classifier for the process, loaded on first use; detectMultiScale is not documented as
    // thread-safe, so detections take turns.
    static std::mutex mutex;
    static cv::CascadeClassifier cascade;
    static bool loaded = false;
    std::lock_guard<std::mutex> lock(mutex);
    if (!loaded) {
        const QString path = defaultFaceCascadePath();
        if (!QFileInfo::exists(path))
            fileError(path,
                      QStringLiteral("does not exist (install opencv-data for face cropping)"));
        if (!cascade.load(path.toStdString()))
            fileError(path, QStringLiteral("cannot load the Haar cascade"));
        loaded = true;
    }
    if (rgb.empty()) return {};

    // Detect on a copy at most 640 pixels across: as good for the largest face, much faster.
    cv::Mat grey;
    if (rgb.channels() == 3)
        cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
    else
        grey = rgb.clone();
    const double scale = std::min(1.0, 640.0 / std::max(grey.cols, grey.rows));
    if (scale < 1.0) cv::resize(grey, grey, cv::Size(), scale, scale, cv::INTER_AREA);
    cv::equalizeHist(grey, grey);
    std::vector<cv::Rect> faces;
    const int minSide = std::max(20, std::min(grey.cols, grey.rows) / 10);
    cascade.detectMultiScale(grey, faces, 1.1, 4, 0, cv::Size(minSide, minSide));
    if (faces.empty()) return {};
    const cv::Rect best =
        *std::max_element(faces.begin(), faces.end(),
                          [](const cv::Rect& a, const cv::Rect& b) { return a.area() < b.area(); });

    // Back to full resolution, squared with the margin, and shifted (then shrunk) to fit.
    const double cx = (best.x + best.width / 2.0) / scale;
    const double cy = (best.y + best.height / 2.0) / scale;
    int side = int(std::lround(std::max(best.width, best.height) / scale * (1.0 + 2.0 * margin)));
    side = std::min({side, rgb.cols, rgb.rows});
    int x = int(std::lround(cx - side / 2.0)), y = int(std::lround(cy - side / 2.0));
    x = std::clamp(x, 0, rgb.cols - side);
    y = std::clamp(y, 0, rgb.rows - side);
    return {x, y, side, side};
}

torch::Tensor prepareImage(const cv::Mat& rgb, const ImportOptions& options) {
    CV_Assert(!rgb.empty() && rgb.depth() == CV_8U && rgb.channels() == 3);
    cv::Rect crop(0, 0, rgb.cols, rgb.rows);
    cv::Rect face;
    if (options.faceCrop) face = detectLargestFace(rgb, options.faceMargin);
    if (!face.empty()) {
        crop = face;
    } else if (options.centreCrop) {  // also the fallback when no face is found
        const int side = std::min(rgb.cols, rgb.rows);
        crop = cv::Rect((rgb.cols - side) / 2, (rgb.rows - side) / 2, side, side);
    }
    cv::Mat resized;
    const cv::Size size(int(options.shape.width), int(options.shape.height));
    const bool shrinking = crop.width >= size.width && crop.height >= size.height;
    cv::resize(rgb(crop), resized, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
    if (options.shape.channels == 1) {
        cv::Mat grey;
        cv::cvtColor(resized, grey, cv::COLOR_RGB2GRAY);
        return matToTensor(grey);
    }
    if (options.shape.channels != 3)
        throw std::invalid_argument("prepareImage: channels must be 1 or 3");
    return matToTensor(resized);
}

Dataset importImages(const QString& path, const ImportOptions& options, ImportReport* report) {
    const QFileInfo info(path);
    if (!info.exists()) fileError(path, QStringLiteral("does not exist"));

    QStringList files;
    if (info.isDir()) {
        const QStringList filters = {QStringLiteral("*.png"),  QStringLiteral("*.jpg"),
                                     QStringLiteral("*.jpeg"), QStringLiteral("*.bmp"),
                                     QStringLiteral("*.webp"), QStringLiteral("*.tif"),
                                     QStringLiteral("*.tiff")};
        QDir dir(path);
        // Name filters match case-insensitively, so IMG_001.JPG counts too.
        const QStringList names =
            dir.entryList(filters, QDir::Files | QDir::Readable, QDir::NoSort);
        for (const QString& name : names) files << dir.filePath(name);
        if (files.isEmpty())
            fileError(path, QStringLiteral("contains no image files (png, jpg, jpeg, "
                                           "bmp, webp, tif, tiff)"));
        // Sorted by code point, not locale: the split must not depend on the machine.
        std::sort(files.begin(), files.end());
    } else {
        files << path;
    }

    std::vector<torch::Tensor> images;
    QStringList skipped;
    for (const QString& file : files) {
        try {
            images.push_back(prepareImage(readImageFile(file), options));
        } catch (const DataError& e) {
            skipped << QStringLiteral("%1: %2").arg(QFileInfo(file).fileName(), reasonOf(e, file));
        } catch (const cv::Exception& e) {
            skipped << QStringLiteral("%1: %2").arg(QFileInfo(file).fileName(),
                                                    QString::fromStdString(e.err));
        }
    }
    if (report) report->skipped = skipped;
    if (images.empty()) {
        fileError(path,
                  QStringLiteral("none of the %1 image file(s) could be read; first problem: %2")
                      .arg(files.size())
                      .arg(skipped.value(0)));
    }

    // Every tenth image is test; with fewer than ten the last one is, and a single image serves
    // as both so that neither split is empty.
    const int64_t n = int64_t(images.size());
    std::vector<int64_t> trainRows, testRows;
    for (int64_t i = 0; i < n; ++i) (i % 10 == 9 ? testRows : trainRows).push_back(i);
    if (testRows.empty()) {
        testRows.push_back(n - 1);
        if (n > 1) trainRows.pop_back();
    }
    const torch::Tensor all = torch::cat(images, 0);
    auto rows = [](const std::vector<int64_t>& v) {
        return torch::tensor(at::ArrayRef<int64_t>(v), torch::kLong);
    };

    Dataset ds;
    ds.name = path;
    ds.shape = options.shape;
    ds.train.images = all.index_select(0, rows(trainRows)).contiguous();
    ds.test.images = all.index_select(0, rows(testRows)).contiguous();
    return ds;
}

}  // namespace le
