#include "ui/widgets/code_grid_widget.h"
#include "core/imaging/compose.h"

#include "core/jobs/code_grid_job.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>

#include <algorithm>

namespace le {

namespace {

QColor cellColour(int code) {
    const cv::Vec3b rgb = codeColour(code);
    return QColor(rgb[0], rgb[1], rgb[2]);
}

}  // namespace

CodeGridWidget::CodeGridWidget(QWidget* parent) : QWidget(parent) {
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(false);
    QSizePolicy policy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
}

void CodeGridWidget::setGrid(int rows, int cols, const QVector<int>& codes) {
    m_rows = rows;
    m_cols = cols;
    m_codes = codes;
    m_reference = codes;
    m_selected = -1;
    update();
}

void CodeGridWidget::setCodes(const QVector<int>& codes) {
    if (codes.size() != m_codes.size()) return;
    m_codes = codes;
    update();
}

void CodeGridWidget::setSelectedCell(int index) {
    m_selected = (index >= 0 && index < m_codes.size()) ? index : -1;
    update();
}

void CodeGridWidget::setReference(const QVector<int>& codes) {
    m_reference = codes;
    update();
}

QRect CodeGridWidget::gridRect() const {
    if (m_rows <= 0 || m_cols <= 0) return {};
    const int cell = std::max(1, std::min((width() - 2) / m_cols, (height() - 2) / m_rows));
    const QSize size(cell * m_cols, cell * m_rows);
    return QRect(QPoint((width() - size.width()) / 2, (height() - size.height()) / 2), size);
}

QRect CodeGridWidget::cellRect(int row, int col) const {
    const QRect g = gridRect();
    if (g.isEmpty() || row < 0 || col < 0 || row >= m_rows || col >= m_cols) return {};
    const int cell = g.width() / m_cols;
    return QRect(g.left() + col * cell, g.top() + row * cell, cell, cell);
}

int CodeGridWidget::cellAt(const QPoint& pos) const {
    const QRect g = gridRect();
    if (g.isEmpty() || !g.contains(pos)) return -1;
    const int cell = g.width() / m_cols;
    const int col = std::min(m_cols - 1, (pos.x() - g.left()) / cell);
    const int row = std::min(m_rows - 1, (pos.y() - g.top()) / cell);
    return row * m_cols + col;
}

void CodeGridWidget::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().window());
    if (m_codes.isEmpty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("Invert an image with a VQ-VAE"));
        return;
    }
    QFont small = font();
    const QRect first = cellRect(0, 0);
    small.setPixelSize(std::max(7, first.height() / 3));
    p.setFont(small);
    const bool labels = first.width() >= 20;
    for (int r = 0; r < m_rows; ++r)
        for (int c = 0; c < m_cols; ++c) {
            const int i = r * m_cols + c;
            const QRect cell = cellRect(r, c);
            const QColor colour = cellColour(m_codes[i]);
            p.fillRect(cell, colour);
            if (i < m_reference.size() && m_reference[i] != m_codes[i]) {
                // Edited: a corner mark.
                p.setPen(Qt::NoPen);
                p.setBrush(colour.lightness() > 140 ? Qt::black : Qt::white);
                const int s = std::max(3, cell.width() / 4);
                p.drawPolygon(
                    QPolygon({cell.topRight() + QPoint(1, 0), cell.topRight() + QPoint(1 - s, 0),
                              cell.topRight() + QPoint(1, s)}));
            }
            if (labels) {
                p.setPen(colour.lightness() > 140 ? QColor(0, 0, 0, 170)
                                                  : QColor(255, 255, 255, 190));
                p.drawText(cell, Qt::AlignCenter, QString::number(m_codes[i]));
            }
        }
    if (m_selected >= 0) {
        const QRect cell = cellRect(m_selected / m_cols, m_selected % m_cols);
        p.setBrush(Qt::NoBrush);
        p.setPen(QPen(Qt::black, 3));
        p.drawRect(cell.adjusted(1, 1, -2, -2));
        p.setPen(QPen(Qt::white, 1));
        p.drawRect(cell.adjusted(1, 1, -2, -2));
    }
    if (hasFocus()) {
        p.setPen(QPen(palette().color(QPalette::Highlight), 1, Qt::DotLine));
        p.setBrush(Qt::NoBrush);
        p.drawRect(gridRect().adjusted(-1, -1, 0, 0));
    }
}

void CodeGridWidget::mousePressEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton) return;
    const int cell = cellAt(event->position().toPoint());
    if (cell < 0) return;
    m_dragging = true;
    m_lastDragged = cell;
    emit cellPressed(cell);
}

void CodeGridWidget::mouseMoveEvent(QMouseEvent* event) {
    if (!m_dragging) return;  // set by a press, cleared by its release
    const int cell = cellAt(event->position().toPoint());
    if (cell < 0 || cell == m_lastDragged) return;
    m_lastDragged = cell;
    emit cellDragged(cell);
}

void CodeGridWidget::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton || !m_dragging) return;
    m_dragging = false;
    m_lastDragged = -1;
    emit strokeFinished();
}

void CodeGridWidget::keyPressEvent(QKeyEvent* event) {
    // Arrow keys move the selection (and select a cell first when none is).
    if (m_codes.isEmpty()) return QWidget::keyPressEvent(event);
    int r = m_selected < 0 ? 0 : m_selected / m_cols, c = m_selected < 0 ? 0 : m_selected % m_cols;
    switch (event->key()) {
        case Qt::Key_Left:
            c = std::max(0, c - 1);
            break;
        case Qt::Key_Right:
            c = std::min(m_cols - 1, c + 1);
            break;
        case Qt::Key_Up:
            r = std::max(0, r - 1);
            break;
        case Qt::Key_Down:
            r = std::min(m_rows - 1, r + 1);
            break;
        default:
            return QWidget::keyPressEvent(event);
    }
    if (m_selected < 0) r = c = 0;
    emit cellPressed(r * m_cols + c);
    emit strokeFinished();
}

}  // namespace le
