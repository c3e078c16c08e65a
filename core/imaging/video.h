#pragma once

// MP4 export of any interaction (an interpolation, a drag path, an autoregressive run): frames in,
// one video file out, written atomically (a temporary file beside the target, renamed when the
// encoder is done), so that a failed or cancelled export never leaves half a video.

#include <QString>

#include <opencv2/core.hpp>

#include <vector>

namespace le {

// Frames are CV_8UC1 (grey) or CV_8UC3 (RGB), of any sizes: each is padded with white to the
// largest, rounded up to even sides as encoders want. Scale frames up before calling (nearest
// neighbour keeps pixels crisp). fps is clamped to [1, 120]. Throws DataError naming the file when
// there are no frames, a frame has another type, or OpenCV cannot encode MP4 here.
void writeVideo(const QString& path, const std::vector<cv::Mat>& frames, double fps);

// A grey or RGB image scaled by an integer factor with nearest neighbour, as RGB.
cv::Mat upscaledRgb(const cv::Mat& image, int factor);

}  // namespace le
