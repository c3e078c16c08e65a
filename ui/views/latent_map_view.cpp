#include "ui/views/latent_map_view.h"

#include "core/errors.h"
#include "core/imaging/video.h"
#include "ui/qt_image.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/likelihood_meter_widget.h"
#include "ui/workspace_state.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

const char* const kLastVideoDirKey = "latentMap/lastVideoExport";

// Tableau 10: a qualitative palette whose neighbours stay distinguishable.
const QColor& classColour(int index) {
    static const QColor colours[] = {QColor(0x4E, 0x79, 0xA7), QColor(0xF2, 0x8E, 0x2B),
                                     QColor(0xE1, 0x57, 0x59), QColor(0x76, 0xB7, 0xB2),
                                     QColor(0x59, 0xA1, 0x4F), QColor(0xED, 0xC9, 0x48),
                                     QColor(0xB0, 0x7A, 0xA1), QColor(0xFF, 0x9D, 0xA7),
                                     QColor(0x9C, 0x75, 0x5F), QColor(0xBA, 0xB0, 0xAC)};
    return colours[static_cast<std::size_t>(index) % (sizeof(colours) / sizeof(colours[0]))];
}

QString componentName(const LatentMap& map, int index) {
    if (index < map.explained.size())
        return QStringLiteral("PC%1 (%2%)")
            .arg(index + 1)
            .arg(std::lround(100.0 * map.explained[index]));
    return QStringLiteral("PC%1").arg(index + 1);
}

QString sigmaText(double value) {
    // U+2212 minus and U+03C3 sigma read better than '-' and "sd" next to a slider.
    const QString number = QString::number(std::abs(value), 'f', 2);
    return (value < 0 ? QStringLiteral("\u2212") : QStringLiteral("+")) + number +
           QStringLiteral("\u03c3");
}

}  // namespace

LatentMapView::LatentMapView(QWidget* parent) : QWidget(parent), m_coords(2, 0.0f) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(12);

    auto* left = new QVBoxLayout;
    left->setSpacing(4);
    m_plot = new QCustomPlot(this);
    m_plot->setMinimumSize(420, 360);
    m_plot->setToolTip(
        tr("Each dot is a test image encoded by the model and projected on the two directions in "
           "which the codes vary most.\nDrag with the left button to move the cursor; the image "
           "on the right is decoded from that point.\nWheel zooms; double-click fits the view."));
    left->addWidget(m_plot, 1);
    auto* hint = new QLabel(
        tr("Drag on the map to walk through latent space \u2014 wheel zooms, double-click fits."),
        this);
    hint->setForegroundRole(QPalette::PlaceholderText);
    left->addWidget(hint);
    layout->addLayout(left, 1);

    auto* right = new QVBoxLayout;
    right->setSpacing(6);

    // The decoded image and, beside it, how likely the scoring models find it.
    auto* top = new QHBoxLayout;
    top->setSpacing(12);
    auto* imageColumn = new QVBoxLayout;
    imageColumn->setSpacing(6);
    auto* title = new QLabel(tr("<b>Decoded at the cursor</b>"), this);
    imageColumn->addWidget(title);
    m_imageView = new ImageView(this);
    m_imageView->setMinimumSize(240, 240);
    m_imageView->setPlaceholderText(tr("Open a checkpoint to see what its decoder draws."));
    m_imageView->setToolTip(
        tr("The decoder's output for the latent at the cursor, shown with one block per pixel."));
    imageColumn->addWidget(m_imageView);
    imageColumn->addStretch(1);
    top->addLayout(imageColumn, 1);

    auto* meterColumn = new QVBoxLayout;
    meterColumn->setSpacing(6);
    m_meter = new LikelihoodMeterWidget(this);
    m_meter->setObjectName(QStringLiteral("likelihoodMeter"));
    auto* meterTitle = new QLabel(tr("<b>How likely is it?</b>"), this);
    meterTitle->setToolTip(m_meter->toolTip());
    meterColumn->addWidget(meterTitle);
    meterColumn->addWidget(m_meter);
    meterColumn->addStretch(1);
    auto* meterPanel = new QWidget(this);
    meterPanel->setLayout(meterColumn);
    meterColumn->setContentsMargins(0, 0, 0, 0);
    meterPanel->setFixedWidth(200);
    top->addWidget(meterPanel);
    right->addLayout(top);

    m_caption = new QLabel(this);
    m_caption->setAlignment(Qt::AlignCenter);
    m_caption->setToolTip(
        tr("The cursor's distance from the mean latent along each direction, in standard "
           "deviations of the encoded test set."));
    right->addWidget(m_caption);

    m_sliderPanel = new QWidget(this);
    auto* grid = new QGridLayout(m_sliderPanel);
    grid->setContentsMargins(0, 4, 0, 4);
    grid->setHorizontalSpacing(8);
    grid->setVerticalSpacing(2);
    right->addWidget(m_sliderPanel);
    right->addStretch(1);

    m_recordButton = new QPushButton(tr("\u25cf Recor&d"), this);
    m_recordButton->setObjectName(QStringLiteral("recordButton"));
    m_recordButton->setCheckable(true);
    m_recordButton->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    m_recordButton->setToolTip(
        tr("Record the drag: every image shown while this is on, at the moment it appeared, "
           "becomes a video that plays at the speed you dragged (Ctrl+Shift+R starts and stops)."));
    m_recordButton->setEnabled(false);
    connect(m_recordButton, &QPushButton::toggled, this, &LatentMapView::setRecording);
    m_exportVideoButton = new QPushButton(tr("Export &video\u2026"), this);
    m_exportVideoButton->setObjectName(QStringLiteral("exportVideoButton"));
    m_exportVideoButton->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    m_exportVideoButton->setToolTip(
        tr("Write the recorded drag as an MP4 video, %1 frames per second, scaled up to at "
           "least %2 pixels (Ctrl+Shift+E)")
            .arg(kVideoFps)
            .arg(kVideoMinSide));
    m_exportVideoButton->setEnabled(false);
    connect(m_exportVideoButton, &QPushButton::clicked, this, &LatentMapView::chooseVideoExport);
    m_recordStatus = new QLabel(this);
    m_recordStatus->setObjectName(QStringLiteral("recordStatus"));
    m_recordStatus->setWordWrap(true);
    m_recordTicker = new QTimer(this);
    m_recordTicker->setInterval(100);
    connect(m_recordTicker, &QTimer::timeout, this, &LatentMapView::updateRecordStatus);

    m_resetButton = new QPushButton(tr("&Reset"), this);
    m_resetButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_resetButton->setToolTip(
        tr("Move the cursor and every slider back to the mean latent (Ctrl+R)."));
    m_resetButton->setEnabled(false);
    connect(m_resetButton, &QPushButton::clicked, this, &LatentMapView::resetCursor);
    right->addWidget(m_recordStatus);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_recordButton);
    buttons->addWidget(m_exportVideoButton);
    buttons->addStretch(1);
    buttons->addWidget(m_resetButton);
    right->addLayout(buttons);

    auto* rightPanel = new QWidget(this);
    rightPanel->setLayout(right);
    rightPanel->setFixedWidth(500);
    right->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(rightPanel);

    buildPlot();
    updateCaption();
}

LatentMapView::~LatentMapView() = default;

void LatentMapView::buildPlot() {
    m_plot->setInteractions(QCP::iRangeZoom);  // left-drag belongs to the cursor
    m_plot->setNoAntialiasingOnDrag(true);
    m_plot->xAxis->setLabel(QStringLiteral("PC1"));
    m_plot->yAxis->setLabel(QStringLiteral("PC2"));
    m_plot->xAxis->grid()->setZeroLinePen(QPen(QColor(150, 150, 150), 0, Qt::DashLine));
    m_plot->yAxis->grid()->setZeroLinePen(QPen(QColor(150, 150, 150), 0, Qt::DashLine));
    m_plot->axisRect()->setupFullAxesBox(true);

    // The legend lives below the axis rect so that it never hides points.
    auto* legendRow = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(1, 0, legendRow);
    legendRow->setMargins(QMargins(5, 0, 5, 5));
    legendRow->addElement(0, 0, m_plot->legend);
    // An empty legend's maximum width is its margins; without this filler beside it, that
    // maximum would squeeze the whole plot column while no model is loaded.
    legendRow->addElement(0, 1, new QCPLayoutElement(m_plot));
    legendRow->setColumnStretchFactor(1, 0.001);
    m_plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_plot->legend->setWrap(5);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setVisible(false);
    m_plot->plotLayout()->setRowStretchFactor(1, 0.001);

    // The cursor gets its own buffered layer: dragging repaints it alone, not every point.
    m_plot->addLayer(QStringLiteral("cursor"), m_plot->layer(QStringLiteral("main")),
                     QCustomPlot::limAbove);
    m_cursorLayer = m_plot->layer(QStringLiteral("cursor"));
    m_cursorLayer->setMode(QCPLayer::lmBuffered);

    connect(m_plot, &QCustomPlot::mousePress, this, &LatentMapView::onPlotPress);
    connect(m_plot, &QCustomPlot::mouseMove, this, &LatentMapView::onPlotMove);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &LatentMapView::onPlotRelease);
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, [this] { fitView(); });

    m_plot->xAxis->setRange(-3, 3);
    m_plot->yAxis->setRange(-3, 3);
    rebuildScatter();
}

void LatentMapView::setModel(const ModelInfo& info, const LatentMap& map) {
    m_info = info;
    m_map = map;
    m_coords = QVector<float>(std::max(2, std::min(kMaxSliders, map.componentCount())), 0.0f);
    m_firstIdOfModel = m_nextId;
    m_imageView->setOverlayText({});
    m_imageView->setPlaceholderText(tr("Decoding\u2026"));
    m_resetButton->setEnabled(hasModel());
    m_recordButton->setEnabled(hasModel());
    m_scoresId = 0;
    m_meterReadySent = false;
    m_meter->clear(tr("Scoring the image\u2026"));
    rebuildScatter();
    rebuildSliders();
    fitView();
    if (!m_pendingCheckpoint.isEmpty() && sameFile(m_pendingCheckpoint, info.checkpointPath)) {
        m_pendingCheckpoint.clear();
        setCoordinates(m_pendingCoords);  // requests the first decode at the restored point
        return;
    }
    coordinatesChanged(false);
}

void LatentMapView::rebuildScatter() {
    m_plot->clearGraphs();
    m_plot->legend->clearItems();

    const int n = std::min(m_map.x.size(), m_map.y.size());
    const int classes = m_map.classNames.size();
    QVector<QCPGraph*> graphs;
    auto makeGraph = [this](const QString& name, const QColor& colour) {
        auto* graph = m_plot->addGraph();
        graph->setName(name);
        graph->setLineStyle(QCPGraph::lsNone);
        QColor fill = colour;
        fill.setAlpha(170);
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, fill, fill, 5));
        graph->setPen(QPen(colour));
        return graph;
    };
    for (int c = 0; c < classes; ++c)
        graphs.push_back(makeGraph(m_map.classNames[c], classColour(c)));
    QCPGraph* other = nullptr;
    for (int i = 0; i < n; ++i) {
        const int label = i < m_map.labels.size() ? m_map.labels[i] : -1;
        QCPGraph* graph = nullptr;
        if (label >= 0 && label < classes) {
            graph = graphs[label];
        } else {
            if (!other)
                other = makeGraph(classes                  ? tr("other")
                                  : m_map.source.isEmpty() ? tr("encoded test images")
                                                           : m_map.source,
                                  QColor(110, 110, 120));
            graph = other;
        }
        graph->addData(m_map.x[i], m_map.y[i]);
    }
    m_plot->legend->setVisible(m_plot->graphCount() > 0);

    m_cursorGraph = m_plot->addGraph();
    m_cursorGraph->setLayer(m_cursorLayer);
    m_cursorGraph->setName(tr("cursor"));
    m_cursorGraph->removeFromLegend();
    m_cursorGraph->setLineStyle(QCPGraph::lsNone);
    m_cursorGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCrossCircle,
                                                   QPen(QColor(20, 20, 20), 2.5), Qt::white, 20));
    m_cursorGraph->setVisible(hasModel());

    m_plot->xAxis->setLabel(componentName(m_map, 0));
    m_plot->yAxis->setLabel(componentName(m_map, 1));
    syncCursorGraph();
    m_plot->replot();
}

void LatentMapView::rebuildSliders() {
    qDeleteAll(m_sliderPanel->findChildren<QWidget*>(QString(), Qt::FindDirectChildrenOnly));
    m_sliders.clear();
    m_sliderValues.clear();
    auto* grid = static_cast<QGridLayout*>(m_sliderPanel->layout());
    const int count = std::min(kMaxSliders, m_map.componentCount());
    for (int i = 0; i < count; ++i) {
        const QString tip =
            tr("Moves the latent along principal direction %1 of the encoded test set, from "
               "\u22123 to +3 standard deviations.%2")
                .arg(i + 1)
                .arg(i < 2 ? tr(" Follows the cursor's %1 position.").arg(i == 0 ? "x" : "y")
                           : QString());
        auto* label = new QLabel(componentName(m_map, i), m_sliderPanel);
        label->setToolTip(tip);
        auto* slider = new QSlider(Qt::Horizontal, m_sliderPanel);
        slider->setRange(-static_cast<int>(kSliderRange * kSliderSteps),
                         static_cast<int>(kSliderRange * kSliderSteps));
        slider->setSingleStep(5);
        slider->setPageStep(kSliderSteps / 2);
        slider->setToolTip(tip);
        slider->setObjectName(QStringLiteral("pc%1Slider").arg(i + 1));
        auto* value = new QLabel(sigmaText(0), m_sliderPanel);
        value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        value->setMinimumWidth(
            value->fontMetrics().horizontalAdvance(QStringLiteral("\u22122.00\u03c3 ")));
        grid->addWidget(label, i, 0);
        grid->addWidget(slider, i, 1);
        grid->addWidget(value, i, 2);
        connect(slider, &QSlider::valueChanged, this, [this, i](int v) { onSliderChanged(i, v); });
        m_sliders.push_back(slider);
        m_sliderValues.push_back(value);
    }
    syncSliders();
}

void LatentMapView::fitView() {
    const int n = std::min(m_map.x.size(), m_map.y.size());
    if (n == 0) {
        m_plot->replot();
        return;
    }
    const auto [xMin, xMax] = std::minmax_element(m_map.x.begin(), m_map.x.begin() + n);
    const auto [yMin, yMax] = std::minmax_element(m_map.y.begin(), m_map.y.begin() + n);
    const double xPad = std::max(1e-3, 0.05 * (*xMax - *xMin));
    const double yPad = std::max(1e-3, 0.05 * (*yMax - *yMin));
    m_plot->xAxis->setRange(*xMin - xPad, *xMax + xPad);
    m_plot->yAxis->setRange(*yMin - yPad, *yMax + yPad);
    m_plot->replot();
}

void LatentMapView::onPlotPress(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton || !hasModel()) return;
    if (!m_plot->axisRect()->rect().contains(event->position().toPoint())) return;
    m_dragging = true;
    moveCursorToPixel(event->position());
}

void LatentMapView::onPlotMove(QMouseEvent* event) {
    if (!m_dragging) return;
    if (!(event->buttons() & Qt::LeftButton)) {
        m_dragging = false;  // the release went elsewhere
        return;
    }
    moveCursorToPixel(event->position());
}

void LatentMapView::onPlotRelease(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) m_dragging = false;
}

void LatentMapView::moveCursorToPixel(const QPointF& pixel) {
    setCursorPosition(
        QPointF(m_plot->xAxis->pixelToCoord(pixel.x()), m_plot->yAxis->pixelToCoord(pixel.y())));
}

void LatentMapView::setCursorPosition(const QPointF& coords) {
    if (!hasModel()) return;
    m_coords[0] = static_cast<float>(coords.x());
    m_coords[1] = static_cast<float>(coords.y());
    coordinatesChanged(false);
}

QPointF LatentMapView::cursorPosition() const {
    return QPointF(m_coords[0], m_coords[1]);
}

QVector<float> LatentMapView::currentLatent() const {
    if (!hasModel()) return {};
    return m_map.latentFor(m_coords);
}

void LatentMapView::setCoordinates(const QVector<float>& coords) {
    if (!hasModel()) return;
    for (int i = 0; i < m_coords.size() && i < coords.size(); ++i)
        if (std::isfinite(coords[i])) m_coords[i] = coords[i];
    coordinatesChanged(false);
}

QJsonObject LatentMapView::workspaceState(const WorkspaceContext& context) const {
    if (!hasModel()) return {};
    return {{"checkpoint", context.fileRef(m_info.checkpointPath)},
            {"coordinates", toJsonArray(m_coords)}};
}

QString LatentMapView::restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context) {
    const QString checkpoint =
        context.resolveFile(state.value(QStringLiteral("checkpoint")), tr("Latent map model"));
    const QVector<float> coords = floatsFromJson(state.value(QStringLiteral("coordinates")));
    if (checkpoint.isEmpty()) return {};
    if (hasModel() && sameFile(checkpoint, m_info.checkpointPath)) {
        setCoordinates(coords);
    } else {
        m_pendingCheckpoint = checkpoint;
        m_pendingCoords = coords;
    }
    return checkpoint;
}

void LatentMapView::resetCursor() {
    if (!hasModel()) return;
    std::fill(m_coords.begin(), m_coords.end(), 0.0f);
    coordinatesChanged(false);
}

double LatentMapView::sliderScale(int index) const {
    const double sd = index < m_map.stddev.size() ? m_map.stddev[index] : 1.0;
    return (sd > 0 && std::isfinite(sd) ? sd : 1.0) / kSliderSteps;
}

void LatentMapView::onSliderChanged(int index, int value) {
    if (index >= m_coords.size()) return;
    m_coords[index] = static_cast<float>(value * sliderScale(index));
    coordinatesChanged(true);
}

void LatentMapView::coordinatesChanged(bool fromSliders) {
    if (fromSliders) {
        for (int i = 0; i < m_sliderValues.size(); ++i)
            m_sliderValues[i]->setText(sigmaText(m_sliders[i]->value() / double(kSliderSteps)));
    } else {
        syncSliders();
    }
    syncCursorGraph();
    m_cursorLayer->replot();
    updateCaption();
    requestDecode();
}

void LatentMapView::syncCursorGraph() {
    if (!m_cursorGraph) return;
    m_cursorGraph->data()->clear();
    m_cursorGraph->addData(m_coords[0], m_coords[1]);
    m_cursorGraph->setVisible(hasModel());
}

void LatentMapView::syncSliders() {
    for (int i = 0; i < m_sliders.size() && i < m_coords.size(); ++i) {
        const double inSteps = m_coords[i] / sliderScale(i);
        const QSignalBlocker block(m_sliders[i]);
        m_sliders[i]->setValue(static_cast<int>(std::lround(
            std::clamp(inSteps, -kSliderRange * kSliderSteps, kSliderRange * kSliderSteps))));
        m_sliderValues[i]->setText(sigmaText(inSteps / kSliderSteps));
    }
}

void LatentMapView::updateCaption() {
    if (!hasModel()) {
        m_caption->setText(tr("No model loaded"));
        return;
    }
    QStringList parts;
    for (int i = 0; i < 2; ++i)
        parts << QStringLiteral("PC%1 %2").arg(i + 1).arg(
            sigmaText(m_coords[i] / (sliderScale(i) * kSliderSteps)));
    m_caption->setText(tr("Cursor at %1 from the mean").arg(parts.join(QStringLiteral(", "))));
}

void LatentMapView::requestDecode() {
    if (!hasModel()) return;
    emit decodeRequested(m_nextId++, m_map.latentFor(m_coords));
}

bool LatentMapView::showResult(const DecodeResult& result) {
    if (result.id < m_firstIdOfModel || result.id <= m_shownId || result.id >= m_nextId)
        return false;
    m_shownId = result.id;
    if (!result.error.isEmpty()) {
        m_imageView->setOverlayText(result.error);  // the last good image stays underneath
        return true;
    }
    const QImage image = matToQImage(result.image);
    if (image.isNull()) {
        m_imageView->setOverlayText(tr("The decoder returned an image that cannot be shown."));
        return true;
    }
    m_imageView->setOverlayText({});
    m_imageView->setImage(image);
    m_shownImage = result.image;
    if (m_recording) {
        m_recorded.push_back({m_recordClock.elapsed(), result.image});
        updateRecordStatus();
    }
    return true;
}

bool LatentMapView::showScores(const ScoreResult& result) {
    // Scores describe one picture: only the one on screen takes them.
    if (result.id < m_firstIdOfModel || result.id != m_shownId || result.id < m_scoresId)
        return false;
    m_scoresId = result.id;
    m_meter->setScores(result);
    emit scoresShown(result.id);
    if (!m_meterReadySent && (result.scores.isEmpty() || result.bandsComplete)) {
        m_meterReadySent = true;
        emit meterReady();
    }
    return true;
}

// Recording keeps the images as they were shown rather than the latent path to decode again at
// export: the video is then exactly what the user saw (the same 8-bit frames, with the same
// coalescing of fast drags), recording costs nothing while dragging (no extra decodes competing
// with the interactive ones in the worker), and export needs no worker round trip. Images are
// small (28x28 to 64x64) and shared, so even a long recording takes little memory.
void LatentMapView::setRecording(bool on) {
    if (on == m_recording) return;
    if (on && !hasModel()) {
        const QSignalBlocker block(m_recordButton);
        m_recordButton->setChecked(false);
        return;
    }
    m_recording = on;
    {
        const QSignalBlocker block(m_recordButton);
        m_recordButton->setChecked(on);
    }
    if (on) {
        m_recorded.clear();
        m_recordedMs = 0;
        m_recordClock.start();
        if (!m_shownImage.empty()) m_recorded.push_back({0, m_shownImage});  // where it starts
        m_recordTicker->start();
    } else {
        m_recordedMs = m_recordClock.isValid() ? m_recordClock.elapsed() : 0;
        m_recordTicker->stop();
    }
    updateRecordStatus();
}

double LatentMapView::recordedSeconds() const {
    const qint64 ms = m_recording ? m_recordClock.elapsed() : m_recordedMs;
    return ms / 1000.0;
}

std::vector<cv::Mat> LatentMapView::videoFrames() const {
    std::vector<cv::Mat> frames;
    if (m_recorded.empty()) return frames;
    const double seconds = std::max(recordedSeconds(), m_recorded.back().ms / 1000.0);
    const int count = std::max(1, int(std::lround(seconds * kVideoFps)));
    std::vector<cv::Mat> scaled(m_recorded.size());
    std::size_t j = 0;
    for (int k = 0; k < count; ++k) {
        // The image on screen at this frame's time: the last one that had appeared by then.
        const double ms = k * 1000.0 / kVideoFps;
        while (j + 1 < m_recorded.size() && m_recorded[j + 1].ms <= ms) ++j;
        if (scaled[j].empty()) {
            const cv::Mat& image = m_recorded[j].image;
            const int side = std::max(1, std::max(image.rows, image.cols));
            scaled[j] = upscaledRgb(image, (kVideoMinSide + side - 1) / side);
        }
        frames.push_back(scaled[j]);  // a held frame shares the pixels of the one before
    }
    return frames;
}

bool LatentMapView::exportVideo(const QString& path) {
    try {
        if (m_recording) setRecording(false);
        const std::vector<cv::Mat> frames = videoFrames();
        if (frames.empty())
            throw DataError(
                QStringLiteral("%1: nothing recorded yet: press Record, then drag on the map")
                    .arg(path)
                    .toStdString());
        writeVideo(path, frames, kVideoFps);
        setRecordStatus(tr("Wrote %1: %2 frames, %3 s")
                            .arg(QFileInfo(path).fileName())
                            .arg(frames.size())
                            .arg(QString::number(frames.size() / kVideoFps, 'f', 1)),
                        false);
        return true;
    } catch (const std::exception& e) {
        setRecordStatus(QString::fromUtf8(e.what()), true);
        return false;
    }
}

void LatentMapView::chooseVideoExport() {
    if (m_recording) setRecording(false);
    QSettings settings;
    const QString dir = settings.value(kLastVideoDirKey).toString();
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export the drag as video"), QDir(dir).filePath(QStringLiteral("latent-walk.mp4")),
        tr("MP4 video (*.mp4)"));
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".mp4");
    settings.setValue(kLastVideoDirKey, QFileInfo(path).absolutePath());
    exportVideo(path);
}

void LatentMapView::updateRecordStatus() {
    m_exportVideoButton->setEnabled(!m_recorded.empty());
    const double seconds = recordedSeconds();
    const int frames = std::max(1, int(std::lround(seconds * kVideoFps)));
    if (m_recording) {
        if (m_recordClock.elapsed() >= kMaxRecordMs) {
            setRecording(false);
            setRecordStatus(tr("Recording stopped after %1 minutes: export it, or record again")
                                .arg(kMaxRecordMs / 60000),
                            false);
            return;
        }
        setRecordStatus(tr("\u25cf Recording %1 s \u00b7 %2 frames \u00b7 %3 images shown")
                            .arg(QString::number(seconds, 'f', 1))
                            .arg(frames)
                            .arg(m_recorded.size()),
                        false);
        m_recordStatus->setStyleSheet(QStringLiteral("color: #b3261e;"));
    } else if (!m_recorded.empty()) {
        setRecordStatus(tr("Recorded %1 s \u00b7 %2 frames at %3 fps: Export video\u2026 writes it")
                            .arg(QString::number(seconds, 'f', 1))
                            .arg(frames)
                            .arg(kVideoFps),
                        false);
    } else {
        setRecordStatus({}, false);
    }
}

void LatentMapView::setRecordStatus(const QString& text, bool isError) {
    m_recordStatus->setText(text);
    m_recordStatus->setToolTip(text);
    m_recordStatus->setStyleSheet(isError ? QStringLiteral("color: #b3261e; font-weight: bold;")
                                          : QString());
}

QString LatentMapView::recordStatusText() const {
    return m_recordStatus->text();
}

void LatentMapView::showError(const QString& message) {
    m_imageView->setOverlayText(message);
}

QImage LatentMapView::currentImage() const {
    return m_imageView->image();
}

QString LatentMapView::errorText() const {
    return m_imageView->overlayText();
}

int LatentMapView::sliderCount() const {
    return m_sliders.size();
}

QSlider* LatentMapView::slider(int i) const {
    return i >= 0 && i < m_sliders.size() ? m_sliders[i] : nullptr;
}

}  // namespace le
