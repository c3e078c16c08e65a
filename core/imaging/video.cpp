#include "core/imaging/video.h"

#include "core/errors.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryFile>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>

namespace le {

namespace {

cv::Mat toRgb(const cv::Mat& frame) {
    if (frame.type() == CV_8UC3) return frame;
    cv::Mat rgb;
    cv::cvtColor(frame, rgb, cv::COLOR_GRAY2RGB);
    return rgb;
}

cv::Size evenCanvas(const std::vector<cv::Mat>& frames) {
    cv::Size size(0, 0);
    for (const cv::Mat& f : frames) {
        size.width = std::max(size.width, f.cols);
        size.height = std::max(size.height, f.rows);
    }
    return {size.width + size.width % 2, size.height + size.height % 2};
}

}  // namespace

cv::Mat upscaledRgb(const cv::Mat& image, int factor) {
    cv::Mat scaled;
    cv::resize(toRgb(image), scaled, cv::Size(), std::max(1, factor), std::max(1, factor),
               cv::INTER_NEAREST);
    return scaled;
}

void writeVideo(const QString& path, const std::vector<cv::Mat>& frames, double fps) {
    if (frames.empty())
        throw DataError(QStringLiteral("%1: nothing to write: no frames").arg(path).toStdString());
    for (const cv::Mat& f : frames)
        if (f.empty() || (f.type() != CV_8UC1 && f.type() != CV_8UC3))
            throw DataError(QStringLiteral("%1: a frame is empty or not an 8-bit grey or RGB image")
                                .arg(path)
                                .toStdString());
    const cv::Size size = evenCanvas(frames);

    // The temporary keeps the .mp4 suffix: OpenCV picks the container from the name.
    const QFileInfo target(path);
    QTemporaryFile temp(QDir(target.absolutePath()).filePath(QStringLiteral(".XXXXXX.mp4")));
    if (!temp.open())
        throw DataError(QStringLiteral("%1: the folder is not writable").arg(path).toStdString());
    const QString tempPath = temp.fileName();
    temp.close();

    cv::VideoWriter writer;
    const bool opened = writer.open(QFile::encodeName(tempPath).toStdString(), cv::CAP_FFMPEG,
                                    cv::VideoWriter::fourcc('m', 'p', '4', 'v'),
                                    std::clamp(fps, 1.0, 120.0), size, true);
    if (!opened || !writer.isOpened())
        throw DataError(QStringLiteral("%1: OpenCV cannot write an MP4 video here (no FFmpeg "
                                       "'mp4v' encoder in this OpenCV); export PNG instead")
                            .arg(path)
                            .toStdString());
    for (const cv::Mat& f : frames) {
        cv::Mat padded, bgr;
        cv::copyMakeBorder(toRgb(f), padded, 0, size.height - f.rows, 0, size.width - f.cols,
                           cv::BORDER_CONSTANT, cv::Scalar::all(255));
        cv::cvtColor(padded, bgr, cv::COLOR_RGB2BGR);
        writer.write(bgr);
    }
    writer.release();
    if (QFileInfo(tempPath).size() <= 0)
        throw DataError(
            QStringLiteral("%1: the video encoder wrote nothing").arg(path).toStdString());
    // QFile::rename does not replace; remove the old file first (the new one is complete by now).
    QFile::remove(path);
    if (!QFile::rename(tempPath, path))
        throw DataError(QStringLiteral("%1: cannot move the finished video into place")
                            .arg(path)
                            .toStdString());
    temp.setAutoRemove(false);
}

}  // namespace le
