#include "ui/widgets/image_view.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>

namespace le {

ImageView::ImageView(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

void ImageView::setImage(const QImage& image) {
    m_image = image;
    update();
}

void ImageView::setOverlayText(const QString& text) {
    if (text == m_overlay) return;
    m_overlay = text;
    update();
}

void ImageView::setPlaceholderText(const QString& text) {
    m_placeholder = text;
    update();
}

void ImageView::setHighlight(const QRect& imagePixels) {
    if (imagePixels == m_highlight) return;
    m_highlight = imagePixels;
    update();
}

QSize ImageView::sizeHint() const {
    return {300, 300};
}

QSize ImageView::minimumSizeHint() const {
    return {200, 200};
}

QRect ImageView::imageRect() const {
    const int side = std::min(width(), height());
    QRect square(0, 0, side, side);
    square.moveCenter(rect().center());
    if (m_image.isNull()) return square;
    // Whole multiples of the source size keep every source pixel the same size on screen.
    const int scale = std::max(
        1, std::min(side / std::max(1, m_image.width()), side / std::max(1, m_image.height())));
    QRect target(0, 0, m_image.width() * scale, m_image.height() * scale);
    target.moveCenter(rect().center());
    return target;
}

void ImageView::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.fillRect(rect(), palette().window());

    const QRect target = imageRect();
    if (m_image.isNull()) {
        painter.fillRect(target, QColor(32, 32, 36));
        painter.setPen(QColor(200, 200, 205));
        painter.drawText(target.adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap,
                         m_placeholder);
    } else {
        painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
        painter.drawImage(target, m_image);
        if (!m_highlight.isEmpty()) {
            const double sx = double(target.width()) / m_image.width();
            const double sy = double(target.height()) / m_image.height();
            const QRectF box(target.left() + m_highlight.left() * sx,
                             target.top() + m_highlight.top() * sy, m_highlight.width() * sx,
                             m_highlight.height() * sy);
            painter.setPen(QPen(QColor(255, 64, 64), 2));
            painter.setBrush(Qt::NoBrush);
            painter.drawRect(box.adjusted(-1, -1, 1, 1));
        }
    }

    if (!m_overlay.isEmpty()) {
        QFont font = painter.font();
        font.setBold(true);
        painter.setFont(font);
        const QRect textArea = target.adjusted(8, 8, -8, -8);
        QRect box = painter.fontMetrics().boundingRect(textArea, Qt::AlignCenter | Qt::TextWordWrap,
                                                       m_overlay);
        box = box.adjusted(-10, -6, 10, 6).intersected(target);
        QPainterPath path;
        path.addRoundedRect(box, 6, 6);
        painter.setRenderHint(QPainter::Antialiasing, true);
        painter.fillPath(path, QColor(150, 20, 20, 215));
        painter.setPen(Qt::white);
        painter.drawText(textArea, Qt::AlignCenter | Qt::TextWordWrap, m_overlay);
    }
}

}  // namespace le
