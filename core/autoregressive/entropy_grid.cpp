#include "core/autoregressive/entropy_grid.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace le {

double entropyBits(const float* p, size_t n) {
    double h = 0;
    for (size_t i = 0; i < n; ++i)
        if (p[i] > 0) h -= double(p[i]) * std::log2(double(p[i]));
    return h;
}

EntropyGrid makeEntropyGrid(const std::vector<float>& stepBits, qint64 steps, int width, int height,
                            int channels) {
    EntropyGrid grid;
    grid.width = std::max(0, width);
    grid.height = std::max(0, height);
    channels = std::max(1, channels);
    const size_t cells = size_t(grid.width) * size_t(grid.height);
    grid.state.assign(cells, EntropyGrid::Unfilled);
    grid.bits.assign(cells, std::numeric_limits<float>::quiet_NaN());
    const qint64 used = std::clamp<qint64>(
        steps, 0, std::min<qint64>(qint64(stepBits.size()), qint64(cells) * channels));
    std::vector<double> sum(cells, 0.0);
    std::vector<int> count(cells, 0);
    for (qint64 s = 0; s < used; ++s) {
        const size_t cell = size_t(s / channels);
        if (grid.state[cell] == EntropyGrid::Unfilled) grid.state[cell] = EntropyGrid::Anchored;
        if (std::isfinite(stepBits[size_t(s)])) {
            sum[cell] += stepBits[size_t(s)];
            ++count[cell];
        }
    }
    bool first = true;
    for (size_t cell = 0; cell < cells; ++cell) {
        if (count[cell] == 0) continue;
        const double bits = sum[cell] / count[cell];
        grid.state[cell] = EntropyGrid::Predicted;
        grid.bits[cell] = float(bits);
        ++grid.predicted;
        grid.minBits = first ? bits : std::min(grid.minBits, bits);
        grid.maxBits = first ? bits : std::max(grid.maxBits, bits);
        first = false;
    }
    return grid;
}

std::vector<CellGrid> cellGrids(const CodeGridModel* grid, const ImageShape& shape) {
    if (!grid) return {CellGrid{0, int(shape.width), int(shape.height), "pixels"}};
    std::vector<CellGrid> grids;
    for (const CodeLevel& level : grid->codeLevels())
        grids.push_back(CellGrid{level.start, int(level.width), int(level.height), level.name});
    return grids;
}

size_t gridOf(const std::vector<CellGrid>& grids, qint64 cell) {
    for (size_t g = 0; g < grids.size(); ++g)
        if (grids[g].contains(cell) || cell < grids[g].start) return g;
    return grids.empty() ? 0 : grids.size() - 1;
}

std::vector<CellGrid> gridsOrWhole(const std::vector<CellGrid>& grids, int gridWidth,
                                   int gridHeight) {
    if (!grids.empty()) return grids;
    return {CellGrid{0, gridWidth, gridHeight, {}}};
}

QRect cellPixels(const CellGrid& g, qint64 cell, int width, int height) {
    if (!g.contains(cell) || g.width <= 0 || g.height <= 0) return {};
    const qint64 local = cell - g.start;
    const int col = int(local % g.width), row = int(local / g.width);
    const int x0 = col * width / g.width, x1 = (col + 1) * width / g.width;
    const int y0 = row * height / g.height, y1 = (row + 1) * height / g.height;
    return QRect(x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0));
}

QString cellName(const std::vector<CellGrid>& grids, qint64 cell) {
    if (grids.empty()) return {};
    const CellGrid& g = grids[gridOf(grids, cell)];
    const qint64 local = std::max<qint64>(0, cell - g.start);
    const QString place = QStringLiteral("row %1, col %2")
                              .arg(local / std::max(1, g.width))
                              .arg(local % std::max(1, g.width));
    if (grids.size() < 2) return place;
    return QStringLiteral("%1 grid, %2").arg(QString::fromStdString(g.name), place);
}

EntropyGrid makeEntropyGrid(const std::vector<float>& stepBits, qint64 steps, const CellGrid& grid,
                            int channels) {
    channels = std::max(1, channels);
    const qint64 first = std::clamp<qint64>(grid.start * channels, 0, qint64(stepBits.size()));
    const std::vector<float> own(stepBits.begin() + first, stepBits.end());
    return makeEntropyGrid(own, steps - first, grid.width, grid.height, channels);
}

cv::Vec3b entropyColour(double t) {
    // Viridis (matplotlib), sampled at nine points and interpolated linearly.
    static const std::array<std::array<double, 3>, 9> kStops = {{{68, 1, 84},
                                                                 {71, 44, 122},
                                                                 {59, 81, 139},
                                                                 {44, 113, 142},
                                                                 {33, 144, 141},
                                                                 {39, 173, 129},
                                                                 {92, 200, 99},
                                                                 {170, 220, 50},
                                                                 {253, 231, 37}}};
    if (!std::isfinite(t)) t = 0;
    const double x = std::clamp(t, 0.0, 1.0) * (kStops.size() - 1);
    const size_t i = std::min(size_t(x), kStops.size() - 2);
    const double f = x - double(i);
    cv::Vec3b c;
    for (int k = 0; k < 3; ++k)
        c[k] = uchar(std::lround(kStops[i][size_t(k)] * (1 - f) + kStops[i + 1][size_t(k)] * f));
    return c;
}

cv::Vec3b unfilledColour() {
    return {128, 128, 128};
}

cv::Vec3b anchoredColour() {
    return {205, 205, 210};
}

cv::Mat renderEntropyGrid(const EntropyGrid& grid, double lo, double hi) {
    cv::Mat image(grid.height, grid.width, CV_8UC3);
    const double span = hi > lo ? hi - lo : 1.0;
    for (int r = 0; r < grid.height; ++r)
        for (int c = 0; c < grid.width; ++c) {
            cv::Vec3b colour;
            switch (grid.at(r, c)) {
                case EntropyGrid::Unfilled:
                    colour = unfilledColour();
                    break;
                case EntropyGrid::Anchored:
                    colour = anchoredColour();
                    break;
                default:
                    colour = entropyColour(hi > lo ? (grid.bitsAt(r, c) - lo) / span : 0.5);
            }
            image.at<cv::Vec3b>(r, c) = colour;
        }
    return image;
}

cv::Mat renderColourBar(int width, int height) {
    cv::Mat bar(std::max(1, height), std::max(1, width), CV_8UC3);
    for (int r = 0; r < bar.rows; ++r)
        bar.row(r).setTo(
            cv::Scalar(entropyColour(bar.rows > 1 ? 1.0 - double(r) / (bar.rows - 1) : 1.0)));
    return bar;
}

}  // namespace le
