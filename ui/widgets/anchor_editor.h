#pragma once

#include <QImage>
#include <QWidget>

#include <opencv2/core.hpp>

namespace le {

// An image with a paintable mask over it: the pixels to keep when a model completes the rest.
// Left button paints "keep", right button erases; kept pixels show as they are, the rest dimmed.
class AnchorEditor final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AnchorEditor)

public:
    explicit AnchorEditor(QWidget* parent = nullptr);

    // An 8-bit grey or RGB image; the mask keeps its size if it matches, else becomes the top half.
    void setImage(const cv::Mat& image);
    const cv::Mat& image() const { return m_image; }
    // CV_8UC1, image-sized, 255 where kept.
    const cv::Mat& mask() const { return m_mask; }
    // Replaces the mask (a restored one): CV_8UC1 of the image's size, nonzero kept. Anything else
    // is refused (false) and the mask stays as it was.
    bool setMask(const cv::Mat& mask);
    void keepTopHalf();
    void clearMask();
    int brushRadius() const;  // in image pixels
    // Paints (or erases) a disc at a point in image pixels, as a mouse stroke would.
    void paintAt(const QPoint& imagePixel, bool keep);
    QRect imageRect() const;

    QSize sizeHint() const override { return {180, 180}; }
    QSize minimumSizeHint() const override { return {120, 120}; }
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override { return width; }

signals:
    void maskEdited();  // by the user's brush

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    void strokeAt(const QPointF& widgetPos, Qt::MouseButtons buttons);
    void rebuildPreview();

    cv::Mat m_image;
    cv::Mat m_mask;
    QImage m_preview;
};

}  // namespace le
