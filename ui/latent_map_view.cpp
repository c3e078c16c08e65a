#include "latent_map_view.h"

#include "image_view.h"
#include "qt_image.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

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
    auto* title = new QLabel(tr("<b>Decoded at the cursor</b>"), this);
    right->addWidget(title);
    m_imageView = new ImageView(this);
    m_imageView->setMinimumSize(280, 280);
    m_imageView->setPlaceholderText(tr("Open a checkpoint to see what its decoder draws."));
    m_imageView->setToolTip(
        tr("The decoder's output for the latent at the cursor, shown with one block per pixel."));
    right->addWidget(m_imageView);
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

    m_resetButton = new QPushButton(tr("&Reset"), this);
    m_resetButton->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_resetButton->setToolTip(
        tr("Move the cursor and every slider back to the mean latent (Ctrl+R)."));
    m_resetButton->setEnabled(false);
    connect(m_resetButton, &QPushButton::clicked, this, &LatentMapView::resetCursor);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(m_resetButton);
    right->addLayout(buttons);

    auto* rightPanel = new QWidget(this);
    rightPanel->setLayout(right);
    rightPanel->setFixedWidth(340);
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
    rebuildScatter();
    rebuildSliders();
    fitView();
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
    return true;
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
