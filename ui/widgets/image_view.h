#pragma once

#include <QImage>
#include <QString>
#include <QWidget>

namespace le {

// Shows one small image scaled up with nearest-neighbour sampling (crisp pixels) in a square,
// with an optional overlay line for an error or a hint. Keeps the image until a new one is set.
class ImageView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ImageView)

public:
    explicit ImageView(QWidget* parent = nullptr);

    void setImage(const QImage& image);
    const QImage& image() const { return m_image; }
    // Text drawn over the image (an error); empty clears it.
    void setOverlayText(const QString& text);
    QString overlayText() const { return m_overlay; }
    // Shown centred while there is no image.
    void setPlaceholderText(const QString& text);
    // A rectangle in image pixels outlined over the image (the position being sampled); an
    // empty rect clears it.
    void setHighlight(const QRect& imagePixels);
    QRect highlight() const { return m_highlight; }
    // Where the image is drawn, in widget coordinates.
    QRect imageRect() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override { return width; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QImage m_image;
    QRect m_highlight;
    QString m_overlay;
    QString m_placeholder;
};

}  // namespace le
