#pragma once

#include "core/interactive/engine.h"
#include "core/interactive/worker.h"
#include "core/storage/workspace.h"

#include <QElapsedTimer>
#include <QImage>
#include <QPointF>
#include <QVector>
#include <QWidget>

#include <opencv2/core.hpp>

#include <vector>

class QCPGraph;
class QCPLayer;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QPushButton;
class QSlider;
class QTimer;

namespace le {

class ImageView;
class LikelihoodMeterWidget;

// The "Latent map" tab: a scatter of the encoded test set on its first two principal directions
// with a draggable cursor, the image decoded at the cursor, and sliders along the top directions.
// It never decodes anything itself: every change emits decodeRequested with a new, increasing id,
// and showResult drops answers older than the newest one shown.
//
// Beside the image, a likelihood meter (LikelihoodMeterWidget): the worker's scores of each image,
// shown by showScores only for the image on screen (same id), so late scores never describe
// another picture. Below, Record and Export video: the images shown while recording, with the
// time each appeared, become an evenly timed MP4 that plays at the speed of the drag.
class LatentMapView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LatentMapView)

public:
    static constexpr int kMaxSliders = 8;
    static constexpr int kSliderSteps = 100;     // slider ticks per standard deviation
    static constexpr double kSliderRange = 3.0;  // sliders span ±3 standard deviations
    static constexpr double kVideoFps = 25.0;    // frames per second of an exported drag
    static constexpr int kVideoMinSide = 256;    // exported frames are scaled up to at least this
    static constexpr qint64 kMaxRecordMs = 10 * 60 * 1000;  // a recording stops by itself after

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
    // Shows the likelihood meter's scores when they belong to the image on screen (the same id);
    // returns false when they are stale (an older or another image) and dropped.
    bool showScores(const ScoreResult& result);
    LikelihoodMeterWidget* likelihoodMeter() const { return m_meter; }
    quint64 shownScoresId() const { return m_scoresId; }

    // Recording the drag. While on, every image shown is kept with the time it appeared.
    void setRecording(bool on);
    bool isRecording() const { return m_recording; }
    int recordedImageCount() const { return int(m_recorded.size()); }
    double recordedSeconds() const;
    // The recording as video frames: one per 1/kVideoFps s of the recording, each the image on
    // screen at that moment (held until the next one arrived), scaled up to >= kVideoMinSide.
    std::vector<cv::Mat> videoFrames() const;
    // Writes the recording as MP4 (stops a running recording first). On failure the reason is
    // shown under the buttons and returned by recordStatusText(); no file is left behind.
    bool exportVideo(const QString& path);
    // Asks for a file (starting in the last export folder) and exports.
    void chooseVideoExport();
    QString recordStatusText() const;
    QPushButton* recordButton() const { return m_recordButton; }
    QPushButton* exportVideoButton() const { return m_exportVideoButton; }

    // Moves the cursor (coordinates along components 0 and 1) and requests a decode.
    void setCursorPosition(const QPointF& coords);
    QPointF cursorPosition() const;
    // Coordinates along every component the sliders control (at least two).
    QVector<float> coordinates() const { return m_coords; }
    QVector<float> currentLatent() const;
    void resetCursor();
    // Moves to coordinates along the principal directions (as many as given, up to the sliders'
    // count; the rest keep theirs) and requests a decode.
    void setCoordinates(const QVector<float>& coords);

    // Workspace: the model's checkpoint and the coordinates.
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    // Returns the checkpoint the state was on (empty when it is missing: a warning). Its
    // coordinates are applied at once when that model is shown, else as soon as it is.
    QString restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context);

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
    // showScores accepted a result.
    void scoresShown(quint64 id);
    // Once per model: the meter is complete (every band measured and the image on screen scored,
    // or no model scores this dataset).
    void meterReady();

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
    void updateRecordStatus();
    void setRecordStatus(const QString& text, bool isError);

    ModelInfo m_info;
    LatentMap m_map;
    QVector<float> m_coords;
    // From a workspace: coordinates waiting for their model to be shown.
    QString m_pendingCheckpoint;
    QVector<float> m_pendingCoords;

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
    LikelihoodMeterWidget* m_meter = nullptr;

    quint64 m_nextId = 1;
    quint64 m_firstIdOfModel = 1;  // results for an earlier model are stale
    quint64 m_shownId = 0;
    quint64 m_scoresId = 0;
    bool m_meterReadySent = false;
    cv::Mat m_shownImage;  // the decoded image on screen, 8-bit

    struct RecordedImage {
        qint64 ms = 0;  // since the recording started
        cv::Mat image;  // as decoded (8-bit grey or RGB), shared, never modified
    };
    QPushButton* m_recordButton = nullptr;
    QPushButton* m_exportVideoButton = nullptr;
    QLabel* m_recordStatus = nullptr;
    QTimer* m_recordTicker = nullptr;
    bool m_recording = false;
    QElapsedTimer m_recordClock;
    qint64 m_recordedMs = 0;  // length of the finished recording
    std::vector<RecordedImage> m_recorded;
};

}  // namespace le
