#pragma once

#include "core/autoregressive/entropy_grid.h"

#include <QImage>
#include <QWidget>

namespace le {

// The predictive entropy of every filled position as a heat map beside the image being
// generated: one square cell per position (pixel or VQ-VAE code), viridis from the least to the
// most unsure position so far, unfilled cells mid grey, anchored ones light grey, and a colour
// bar labelled with the minimum and maximum in bits. Reports the cell under the mouse and clicks.
class EntropyMapView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EntropyMapView)

public:
    explicit EntropyMapView(QWidget* parent = nullptr);

    void setGrid(const EntropyGrid& grid);
    const EntropyGrid& grid() const { return m_grid; }
    // The rendered cells, one pixel per cell (what is drawn scaled up).
    const QImage& image() const { return m_image; }
    // A rectangle of cells outlined (the position being sampled); empty clears it.
    void setHighlight(const QRect& cells);
    QRect highlight() const { return m_highlight; }
    // Where the cells are drawn, in widget coordinates; the cell at a widget point (-1, -1
    // outside).
    QRect mapRect() const;
    QPoint cellAt(const QPointF& widgetPos) const;
    // "row 3, column 5: 2.41 bits", or what the cell is when it has no entropy.
    QString describeCell(int row, int col) const;

    QSize sizeHint() const override { return {250, 210}; }
    QSize minimumSizeHint() const override { return {150, 120}; }

signals:
    void cellHovered(int row, int col);  // (-1, -1): the mouse left the map
    void cellClicked(int row, int col);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    QRect barRect() const;

    EntropyGrid m_grid;
    QImage m_image;
    QImage m_bar;
    QRect m_highlight;
    QPoint m_hovered{-1, -1};
};

}  // namespace le
