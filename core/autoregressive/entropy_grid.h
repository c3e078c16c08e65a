#pragma once

// Where an autoregressive model was unsure: the predictive entropy, in bits, of every position
// filled so far, as a grid of cells (pixels, or VQ-VAE codes) and as an 8-bit heat map. The same
// rendering serves the screen and the exported video, so the two never disagree.

#include "models/generative_model.h"

#include <QRect>
#include <QString>
#include <QtGlobal>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace le {

// −Σ p log2 p over the n probabilities (zeros contribute nothing), in bits.
double entropyBits(const float* p, size_t n);

struct EntropyGrid {
    enum Cell : std::uint8_t { Unfilled = 0, Anchored = 1, Predicted = 2 };
    int width = 0, height = 0;
    std::vector<std::uint8_t> state;  // per cell, row-major
    std::vector<float> bits;          // per cell; NaN unless Predicted
    double minBits = 0, maxBits = 0;  // over the Predicted cells; both 0 when there are none
    int predicted = 0;                // how many cells are Predicted

    std::uint8_t at(int row, int col) const { return state[size_t(row) * width + col]; }
    float bitsAt(int row, int col) const { return bits[size_t(row) * width + col]; }
};

// stepBits holds one entry per step done, in generation order (cell by cell in raster order, the
// channels of a cell one after another), NaN where the value was anchored rather than predicted.
// Only the first `steps` entries are used, so a grid of any earlier moment can be drawn. A cell
// with several channels (R, G, B) shows the mean over its predicted channels; it counts as filled
// from its first channel on.
EntropyGrid makeEntropyGrid(const std::vector<float>& stepBits, qint64 steps, int width, int height,
                            int channels);

// One grid of cells filled in one stretch of a run: cells [start, start + width·height) in
// generation order. A pixel model or a one-level code grid has one; a VQ-VAE-2 two (its top grid,
// then its bottom grid), each drawn and pointed at on its own scale.
struct CellGrid {
    qint64 start = 0;
    int width = 0, height = 0;
    std::string name;  // "pixels", "codes", "top", "bottom"
    qint64 cells() const { return qint64(width) * height; }
    bool contains(qint64 cell) const { return cell >= start && cell < start + cells(); }
};

// The grids a model's positions fill: its pixels, or each level of its code grid.
std::vector<CellGrid> cellGrids(const CodeGridModel* grid, const ImageShape& shape);

// The cell the last of `steps` steps filled (0 before the first), `channels` steps per cell.
inline qint64 lastFilledCell(qint64 steps, int channels) {
    return std::max<qint64>(0, steps - 1) / std::max(1, channels);
}

// The grid holding `cell` (the last one for a cell past the end, the first for one before it).
size_t gridOf(const std::vector<CellGrid>& grids, qint64 cell);

// The grids of a step, or one gridWidth × gridHeight grid when it names none.
std::vector<CellGrid> gridsOrWhole(const std::vector<CellGrid>& grids, int gridWidth,
                                   int gridHeight);
// The image pixels under `cell` of grid g, for an image of width × height (a 28-pixel image under
// an 8-cell grid: cells of 3 or 4 pixels). Empty for a cell outside g.
QRect cellPixels(const CellGrid& g, qint64 cell, int width, int height);
// "row 3, col 5", or with several grids "bottom grid, row 3, col 5", for a cell of the run.
QString cellName(const std::vector<CellGrid>& grids, qint64 cell);

// The entropy of one grid of a run: makeEntropyGrid over its own stretch of steps.
EntropyGrid makeEntropyGrid(const std::vector<float>& stepBits, qint64 steps, const CellGrid& grid,
                            int channels);

// The heat map's colours (RGB): viridis from dark purple (t = 0, least unsure) to yellow (t = 1).
cv::Vec3b entropyColour(double t);
cv::Vec3b unfilledColour();  // a flat mid grey, the same as an unfilled pixel of the image
cv::Vec3b anchoredColour();  // a light grey: kept from the anchors, nothing was predicted

// The grid as a CV_8UC3 RGB image of width × height pixels, one per cell; Predicted cells are
// coloured on the scale lo (t = 0) .. hi (t = 1).
cv::Mat renderEntropyGrid(const EntropyGrid& grid, double lo, double hi);
// A vertical colour bar, CV_8UC3 RGB, hi at the top.
cv::Mat renderColourBar(int width, int height);

}  // namespace le
