#include "core/imaging/compose.h"

#include "core/errors.h"
#include "core/imaging/video.h"

#include <QFileInfo>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

cv::Mat cellRgb(const cv::Mat& image, int cellSize) {
    cv::Mat rgb, scaled;
    if (image.channels() == 1)
        cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
    else
        rgb = image;
    cv::resize(rgb, scaled, cv::Size(cellSize, cellSize), 0, 0, cv::INTER_NEAREST);
    return scaled;
}

std::vector<const std::vector<cv::Mat>*> nonEmpty(const std::vector<std::vector<cv::Mat>>& s) {
    std::vector<const std::vector<cv::Mat>*> out;
    for (const auto& strip : s)
        if (!strip.empty()) out.push_back(&strip);
    return out;
}

}  // namespace

cv::Mat composeStrips(const std::vector<std::vector<cv::Mat>>& strips, int cellSize, int gap) {
    const auto rows = nonEmpty(strips);
    if (rows.empty()) return {};
    size_t columns = 0;
    for (const auto* r : rows) columns = std::max(columns, r->size());
    cv::Mat out(gap + int(rows.size()) * (cellSize + gap), gap + int(columns) * (cellSize + gap),
                CV_8UC3, cv::Scalar::all(255));
    for (size_t r = 0; r < rows.size(); ++r)
        for (size_t c = 0; c < rows[r]->size(); ++c)
            cellRgb((*rows[r])[c], cellSize)
                .copyTo(out(cv::Rect(gap + int(c) * (cellSize + gap),
                                     gap + int(r) * (cellSize + gap), cellSize, cellSize)));
    return out;
}

cv::Mat composeFrame(const std::vector<std::vector<cv::Mat>>& strips, int index, int cellSize,
                     int gap) {
    const auto rows = nonEmpty(strips);
    if (rows.empty()) return {};
    cv::Mat out(gap + int(rows.size()) * (cellSize + gap), cellSize + 2 * gap, CV_8UC3,
                cv::Scalar::all(255));
    for (size_t r = 0; r < rows.size(); ++r) {
        const auto& strip = *rows[r];
        const cv::Mat& frame = strip[std::clamp<size_t>(size_t(index), 0, strip.size() - 1)];
        cellRgb(frame, cellSize)
            .copyTo(out(cv::Rect(gap, gap + int(r) * (cellSize + gap), cellSize, cellSize)));
    }
    return out;
}

void writeInterpolationVideo(const QString& path, const std::vector<std::vector<cv::Mat>>& strips,
                             double fps, int cellSize) {
    const QString name = QFileInfo(path).fileName();
    const auto rows = nonEmpty(strips);
    if (rows.empty())
        throw DataError(
            QStringLiteral("%1: nothing to write: no strip has frames").arg(name).toStdString());
    int frames = 0;
    for (const auto* r : rows) frames = std::max(frames, int(r->size()));
    // Forward, then back: the clip loops without a jump.
    std::vector<cv::Mat> clip;
    for (int i = 0; i < frames; ++i) clip.push_back(composeFrame(strips, i, cellSize, 2));
    for (int i = frames - 2; i > 0; --i) clip.push_back(clip[size_t(i)]);
    writeVideo(path, clip, fps);
}

cv::Mat errorHeatMap(const cv::Mat& a, const cv::Mat& b) {
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    if (diff.channels() == 3) cv::cvtColor(diff, diff, cv::COLOR_RGB2GRAY);
    // Stretch: an error of a quarter of the range is already full heat.
    cv::Mat stretched;
    diff.convertTo(stretched, CV_8U, 4.0);
    cv::Mat bgr, rgb;
    cv::applyColorMap(stretched, bgr, cv::COLORMAP_INFERNO);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

cv::Vec3b codeColour(int code) {
    const int hue = int(std::fmod(code * 137.508, 360.0) / 2);  // OpenCV hue is 0..179
    cv::Mat hsv(1, 1, CV_8UC3, cv::Scalar(hue, 170 + code % 3 * 40, 230 - code % 2 * 50)), rgb;
    cv::cvtColor(hsv, rgb, cv::COLOR_HSV2RGB);
    return rgb.at<cv::Vec3b>(0, 0);
}

cv::Mat colourCodeGrid(const QVector<int>& codes, int rows, int cols, int cellSize) {
    cv::Mat grid(rows, cols, CV_8UC3);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c)
            grid.at<cv::Vec3b>(r, c) = codeColour(codes.value(r * cols + c));
    cv::Mat scaled;
    cv::resize(grid, scaled, cv::Size(cols * cellSize, rows * cellSize), 0, 0, cv::INTER_NEAREST);
    return scaled;
}

}  // namespace le
