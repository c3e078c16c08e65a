#include "core/autoregressive/autoregressive_video.h"

#include "core/autoregressive/entropy_grid.h"
#include "core/errors.h"
#include "core/imaging/video.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace le {

namespace {

constexpr int kGap = 8;
constexpr int kBarWidth = 10;
constexpr int kCaption = 22;  // caption strip under the images, pixels

void caption(cv::Mat& canvas, const std::string& text, int x) {
    cv::putText(canvas, text, cv::Point(x, canvas.rows - 7), cv::FONT_HERSHEY_SIMPLEX, 0.4,
                cv::Scalar(60, 60, 60), 1, cv::LINE_AA);
}

std::string format(const char* pattern, double a, double b) {
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, pattern, a, b);
    return buffer;
}

}  // namespace

std::vector<cv::Mat> autoregressiveVideoFrames(const std::vector<AutoregressiveFrame>& frames,
                                               const std::vector<float>& entropyBits,
                                               const AutoregressiveVideoLayout& layout,
                                               int imagePixels) {
    std::vector<cv::Mat> out;
    if (frames.empty() || frames.front().images.isEmpty()) return out;
    const cv::Mat& sample = frames.front().images.front();
    const int factor = std::max(1, int(std::lround(double(imagePixels) / sample.cols)));
    const int side = sample.rows * factor;
    const int imageWidth = sample.cols * factor;
    const int completions = frames.front().images.size();
    // One colour scale for the whole video: the range of the run as far as it got.
    const EntropyGrid whole = makeEntropyGrid(entropyBits, qint64(entropyBits.size()),
                                              layout.gridWidth, layout.gridHeight, layout.channels);
    const int mapLeft = completions * (imageWidth + kGap) + kGap;
    const int barLeft = mapLeft + imageWidth + kGap / 2;
    const cv::Mat bar = renderColourBar(kBarWidth, side);
    const std::string range = whole.predicted > 0
                                  ? format("entropy %.2f-%.2f bits", whole.minBits, whole.maxBits)
                                  : std::string("entropy: none predicted");

    for (const AutoregressiveFrame& frame : frames) {
        cv::Mat canvas(side + kCaption, barLeft + kBarWidth + kGap, CV_8UC3, cv::Scalar::all(255));
        for (int i = 0; i < completions && i < frame.images.size(); ++i) {
            const cv::Mat image = upscaledRgb(frame.images[i], factor);
            image.copyTo(canvas(cv::Rect(i * (imageWidth + kGap), 0, image.cols, image.rows)));
        }
        // The grid being filled at that moment (a VQ-VAE-2's top grid, then its bottom grid).
        const std::vector<CellGrid> grids =
            gridsOrWhole(layout.grids, layout.gridWidth, layout.gridHeight);
        const qint64 cell = lastFilledCell(frame.stepsDone, layout.channels);
        const EntropyGrid grid = makeEntropyGrid(entropyBits, frame.stepsDone,
                                                 grids[gridOf(grids, cell)], layout.channels);
        cv::Mat map;
        cv::resize(renderEntropyGrid(grid, whole.minBits, whole.maxBits), map,
                   cv::Size(imageWidth, side), 0, 0, cv::INTER_NEAREST);
        map.copyTo(canvas(cv::Rect(mapLeft, 0, map.cols, map.rows)));
        bar.copyTo(canvas(cv::Rect(barLeft, 0, bar.cols, bar.rows)));
        caption(canvas,
                format("step %.0f of %.0f", double(frame.stepsDone), double(layout.totalSteps)), 2);
        caption(canvas, range, mapLeft);
        out.push_back(canvas);
    }
    return out;
}

double autoregressiveVideoFps(size_t frames) {
    return std::clamp(double(frames) / 4.0, 2.0, 30.0);
}

void writeAutoregressiveVideo(const QString& path, const std::vector<AutoregressiveFrame>& frames,
                              const std::vector<float>& entropyBits,
                              const AutoregressiveVideoLayout& layout) {
    std::vector<cv::Mat> video = autoregressiveVideoFrames(frames, entropyBits, layout);
    if (video.empty())
        throw DataError(QStringLiteral("%1: nothing to export: the run has no frames yet")
                            .arg(path)
                            .toStdString());
    const double fps = autoregressiveVideoFps(video.size());
    const cv::Mat last = video.back();
    for (int i = 0; i < int(std::lround(fps)); ++i) video.push_back(last);  // hold the result
    writeVideo(path, video, fps);
}

}  // namespace le
