#pragma once

// An autoregressive run as a video: each recorded frame shows every completion as it was then,
// beside the entropy heat map of the positions filled by that moment (one colour scale for the
// whole video: the run's final range), a colour bar and a caption. The last frame is held a
// second. Written with le::writeVideo (atomically).

#include "core/autoregressive/autoregressive_session.h"

#include <QString>

#include <opencv2/core.hpp>

#include <vector>

namespace le {

struct AutoregressiveVideoLayout {
    int gridWidth = 0, gridHeight = 0;  // positions per row, rows
    int cellSize = 1;                   // image pixels per position
    int channels = 1;                   // values per position
    std::vector<CellGrid> grids;        // as AutoregressiveStep's; empty: one gridWidth-wide grid
    qint64 totalSteps = 0;
};

// The composed frames (CV_8UC3 RGB), one per recorded frame, the images scaled up to about
// `imagePixels` on a side. entropyBits: the run's entropy per step (AutoregressiveStep).
std::vector<cv::Mat> autoregressiveVideoFrames(const std::vector<AutoregressiveFrame>& frames,
                                               const std::vector<float>& entropyBits,
                                               const AutoregressiveVideoLayout& layout,
                                               int imagePixels = 160);

// The frames rate that makes a run of `frames` frames last about four seconds.
double autoregressiveVideoFps(size_t frames);

// Composes and writes; the last frame is held for a second. Throws DataError naming the file.
void writeAutoregressiveVideo(const QString& path, const std::vector<AutoregressiveFrame>& frames,
                              const std::vector<float>& entropyBits,
                              const AutoregressiveVideoLayout& layout);

}  // namespace le
