#include "ui/widgets/entropy_map_view.h"

#include "ui/qt_image.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

constexpr int kBarWidth = 14;
constexpr int kBarGap = 8;
constexpr int kLabelWidth = 64;  // room for "12.34 bits" beside the bar

QString bitsText(double bits) {
    return EntropyMapView::tr("%1 bits").arg(QString::number(bits, 'f', 2));
}

}  // namespace

EntropyMapView::EntropyMapView(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setMouseTracking(true);
    setCursor(Qt::PointingHandCursor);
    setToolTip(
        tr("Where the model was unsure: the entropy, in bits, of the distribution each filled "
           "position was sampled from (completion 1), from dark purple (least unsure so far) to "
           "yellow (most); the bar gives the range. For colour images each pixel shows the mean "
           "over its R, G and B values; for a VQ-VAE each cell is one code. Grey: not filled "
           "yet; light grey: kept from the anchors, nothing predicted. Hover a cell for its value, "
           "click one to resample from there."));
    m_bar = matToQImage(renderColourBar(1, 128));
}

void EntropyMapView::setGrid(const EntropyGrid& grid) {
    m_grid = grid;
    m_image = matToQImage(renderEntropyGrid(m_grid, m_grid.minBits, m_grid.maxBits));
    update();
}

void EntropyMapView::setHighlight(const QRect& cells) {
    if (cells == m_highlight) return;
    m_highlight = cells;
    update();
}

QRect EntropyMapView::mapRect() const {
    const int side = std::max(0, std::min(height(), width() - kBarWidth - kBarGap - kLabelWidth));
    if (m_grid.width <= 0 || m_grid.height <= 0) return QRect(0, (height() - side) / 2, side, side);
    // Whole multiples of the grid keep every cell the same size on screen.
    const int scale = std::max(1, std::min(side / m_grid.width, side / m_grid.height));
    return QRect(0, (height() - m_grid.height * scale) / 2, m_grid.width * scale,
                 m_grid.height * scale);
}

QRect EntropyMapView::barRect() const {
    const QRect map = mapRect();
    return QRect(map.right() + 1 + kBarGap, map.top(), kBarWidth, map.height());
}

QPoint EntropyMapView::cellAt(const QPointF& widgetPos) const {
    const QRect map = mapRect();
    if (m_grid.width <= 0 || m_grid.height <= 0 || map.isEmpty()) return {-1, -1};
    const int col = int(std::floor((widgetPos.x() - map.left()) * m_grid.width / map.width()));
    const int row = int(std::floor((widgetPos.y() - map.top()) * m_grid.height / map.height()));
    if (col < 0 || row < 0 || col >= m_grid.width || row >= m_grid.height) return {-1, -1};
    return {col, row};
}

QString EntropyMapView::describeCell(int row, int col) const {
    if (row < 0 || col < 0 || row >= m_grid.height || col >= m_grid.width) return {};
    const QString where = tr("Row %1, column %2").arg(row).arg(col);
    switch (m_grid.at(row, col)) {
        case EntropyGrid::Unfilled:
            return tr("%1: not filled yet").arg(where);
        case EntropyGrid::Anchored:
            return tr("%1: kept from the anchors").arg(where);
        default:
            return tr("%1: %2").arg(where, bitsText(m_grid.bitsAt(row, col)));
    }
}

void EntropyMapView::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QRect map = mapRect();
    if (m_image.isNull()) {
        painter.fillRect(map, QColor(128, 128, 128));
        return;
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(map, m_image);
    const double sx = double(map.width()) / m_grid.width;
    const double sy = double(map.height()) / m_grid.height;
    auto outline = [&](const QRect& cells, const QColor& colour) {
        const QRectF box(map.left() + cells.left() * sx, map.top() + cells.top() * sy,
                         cells.width() * sx, cells.height() * sy);
        painter.setPen(QPen(colour, 2));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(box.adjusted(-1, -1, 1, 1));
    };
    if (!m_highlight.isEmpty()) outline(m_highlight, QColor(255, 64, 64));
    if (m_hovered.x() >= 0) outline(QRect(m_hovered, QSize(1, 1)), QColor(255, 255, 255));

    const QRect bar = barRect();
    painter.drawImage(bar, m_bar);
    painter.setPen(palette().color(QPalette::Mid));
    painter.drawRect(bar.adjusted(0, 0, -1, -1));
    painter.setPen(palette().color(QPalette::WindowText));
    const QRect labels(bar.right() + 4, bar.top(), kLabelWidth, bar.height());
    if (m_grid.predicted > 0) {
        painter.drawText(labels, Qt::AlignTop | Qt::AlignLeft, bitsText(m_grid.maxBits));
        painter.drawText(labels, Qt::AlignBottom | Qt::AlignLeft, bitsText(m_grid.minBits));
    } else {
        painter.drawText(labels, Qt::AlignVCenter | Qt::AlignLeft | Qt::TextWordWrap,
                         tr("no entropy yet"));
    }
}

void EntropyMapView::mouseMoveEvent(QMouseEvent* event) {
    const QPoint cell = cellAt(event->position());
    if (cell == m_hovered) return;
    m_hovered = cell;
    update();
    emit cellHovered(cell.y(), cell.x());
}

void EntropyMapView::mousePressEvent(QMouseEvent* event) {
    const QPoint cell = cellAt(event->position());
    if (event->button() == Qt::LeftButton && cell.x() >= 0) emit cellClicked(cell.y(), cell.x());
}

void EntropyMapView::leaveEvent(QEvent*) {
    if (m_hovered.x() < 0) return;
    m_hovered = {-1, -1};
    update();
    emit cellHovered(-1, -1);
}

}  // namespace le
