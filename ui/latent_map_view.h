#pragma once

#include "engine.h"
#include "worker.h"

#include <QImage>
#include <QPointF>
#include <QVector>
#include <QWidget>

class QCPGraph;
class QCPLayer;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QPushButton;
class QSlider;

namespace le {

class ImageView;

// The "Latent map" tab: a scatter of the encoded test set on its first two principal directions
// with a draggable cursor, the image decoded at the cursor, and sliders along the top directions.
// It never decodes anything itself: every change emits decodeRequested with a new, increasing id,
// and showResult drops answers older than the newest one shown.
class LatentMapView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LatentMapView)

public:
    static constexpr int kMaxSliders = 8;
    static constexpr int kSliderSteps = 100;     // slider ticks per standard deviation
    static constexpr double kSliderRange = 3.0;  // sliders span ±3 standard deviations

    explicit LatentMapView(QWidget* parent = nullptr);
    ~LatentMapView() override;

    // Replaces the map and resets the cursor to the centre; emits the first request.
    void setModel(const ModelInfo& info, const LatentMap& map);
    bool hasModel() const { return !m_map.mean.isEmpty(); }
    // Shows a decoded image (or its error) unless a newer result is already shown.
    // Returns false when the result was stale and dropped.
    bool showResult(const DecodeResult& result);
    // An error that is not tied to one request (a failed load): shown over the image.
    void showError(const QString& message);

    // Moves the cursor (coordinates along components 0 and 1) and requests a decode.
    void setCursorPosition(const QPointF& coords);
    QPointF cursorPosition() const;
    // Coordinates along every component the sliders control (at least two).
    QVector<float> coordinates() const { return m_coords; }
    QVector<float> currentLatent() const;
    void resetCursor();

    QImage currentImage() const;
    QString errorText() const;
    quint64 lastRequestId() const { return m_nextId - 1; }
    quint64 shownResultId() const { return m_shownId; }
    QCustomPlot* plot() const { return m_plot; }
    int sliderCount() const;
    QSlider* slider(int i) const;
    QPushButton* resetButton() const { return m_resetButton; }
    ImageView* imageView() const { return m_imageView; }

signals:
    void decodeRequested(quint64 id, const QVector<float>& latent);

private:
    void buildPlot();
    void rebuildScatter();
    void rebuildSliders();
    void fitView();
    void onPlotPress(QMouseEvent* event);
    void onPlotMove(QMouseEvent* event);
    void onPlotRelease(QMouseEvent* event);
    void moveCursorToPixel(const QPointF& pixel);
    void onSliderChanged(int index, int value);
    void coordinatesChanged(bool fromSliders);
    void syncCursorGraph();
    void syncSliders();
    void updateCaption();
    void requestDecode();
    double sliderScale(int index) const;

    ModelInfo m_info;
    LatentMap m_map;
    QVector<float> m_coords;

    QCustomPlot* m_plot = nullptr;
    QCPLayer* m_cursorLayer = nullptr;
    QCPGraph* m_cursorGraph = nullptr;
    bool m_dragging = false;

    ImageView* m_imageView = nullptr;
    QLabel* m_caption = nullptr;
    QWidget* m_sliderPanel = nullptr;
    QVector<QSlider*> m_sliders;
    QVector<QLabel*> m_sliderValues;
    QPushButton* m_resetButton = nullptr;

    quint64 m_nextId = 1;
    quint64 m_firstIdOfModel = 1;  // results for an earlier model are stale
    quint64 m_shownId = 0;
};

}  // namespace le
