#pragma once

// Where an autoregressive model was unsure: the predictive entropy, in bits, of every position
// filled so far, as a grid of cells (pixels, or VQ-VAE codes) and as an 8-bit heat map. The same
// rendering serves the screen and the exported video, so the two never disagree.

#include <QtGlobal>

#include <opencv2/core.hpp>

#include <cstdint>
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
