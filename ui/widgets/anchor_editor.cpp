#include "ui/widgets/anchor_editor.h"

#include "ui/qt_image.h"

#include <QMouseEvent>
#include <QPainter>

#include <opencv2/imgproc.hpp>

#include <algorithm>

namespace le {

AnchorEditor::AnchorEditor(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    setCursor(Qt::CrossCursor);
    setToolTip(
        tr("The pixels to keep. Paint with the left button to keep more, erase with the "
           "right; the dimmed part is what the model completes."));
}

void AnchorEditor::setImage(const cv::Mat& image) {
    const bool sameSize = !m_mask.empty() && m_mask.size() == image.size();
    m_image = image.clone();
    if (!sameSize) {
        m_mask = cv::Mat::zeros(image.rows, image.cols, CV_8UC1);
        m_mask.rowRange(0, image.rows / 2).setTo(255);
    }
    rebuildPreview();
}

bool AnchorEditor::setMask(const cv::Mat& mask) {
    if (m_image.empty() || mask.type() != CV_8UC1 || mask.size() != m_image.size()) return false;
    m_mask = mask > 0;  // 255 where kept, as painting makes it
    rebuildPreview();
    return true;
}

void AnchorEditor::keepTopHalf() {
    if (m_image.empty()) return;
    m_mask.setTo(0);
    m_mask.rowRange(0, m_image.rows / 2).setTo(255);
    rebuildPreview();
}

void AnchorEditor::clearMask() {
    if (m_mask.empty()) return;
    m_mask.setTo(0);
    rebuildPreview();
}

int AnchorEditor::brushRadius() const {
    return std::max(1, m_image.cols / 10);
}

void AnchorEditor::paintAt(const QPoint& imagePixel, bool keep) {
    if (m_mask.empty()) return;
    cv::circle(m_mask, cv::Point(imagePixel.x(), imagePixel.y()), brushRadius(),
               cv::Scalar(keep ? 255 : 0), cv::FILLED);
    rebuildPreview();
    emit maskEdited();
}

QRect AnchorEditor::imageRect() const {
    const int side = std::min(width(), height());
    QRect square(0, 0, side, side);
    square.moveCenter(rect().center());
    return square;
}

void AnchorEditor::rebuildPreview() {
    if (m_image.empty()) {
        m_preview = QImage();
    } else {
        cv::Mat rgb;
        if (m_image.channels() == 1)
            cv::cvtColor(m_image, rgb, cv::COLOR_GRAY2RGB);
        else
            rgb = m_image.clone();
        // What the model will complete: dimmed and tinted blue.
        cv::Mat dimmed = rgb * 0.35 + cv::Scalar(20, 30, 70);
        dimmed.copyTo(rgb, m_mask == 0);
        m_preview = matToQImage(rgb);
    }
    update();
}

void AnchorEditor::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QRect target = imageRect();
    if (m_preview.isNull()) {
        painter.fillRect(target, QColor(32, 32, 36));
        painter.setPen(QColor(200, 200, 205));
        painter.drawText(target, Qt::AlignCenter | Qt::TextWordWrap, tr("No image"));
        return;
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(target, m_preview);
    painter.setPen(QColor(120, 120, 130));
    painter.drawRect(target.adjusted(0, 0, -1, -1));
}

void AnchorEditor::mousePressEvent(QMouseEvent* event) {
    strokeAt(event->position(), event->buttons());
}

void AnchorEditor::mouseMoveEvent(QMouseEvent* event) {
    strokeAt(event->position(), event->buttons());
}

void AnchorEditor::strokeAt(const QPointF& widgetPos, Qt::MouseButtons buttons) {
    if (m_image.empty() || !(buttons & (Qt::LeftButton | Qt::RightButton))) return;
    const QRect target = imageRect();
    if (target.isEmpty()) return;
    const int x = int((widgetPos.x() - target.left()) * m_image.cols / target.width());
    const int y = int((widgetPos.y() - target.top()) * m_image.rows / target.height());
    if (x < 0 || y < 0 || x >= m_image.cols || y >= m_image.rows) return;
    paintAt(QPoint(x, y), bool(buttons & Qt::LeftButton));
}

}  // namespace le
