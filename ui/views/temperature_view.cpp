#include "ui/views/temperature_view.h"

#include "ui/qt_image.h"
#include "ui/widgets/series_colours.h"
#include "ui/widgets/view_controls.h"
#include "ui/workspace_state.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace le {

namespace {

const char* const kSeedKey = "temperature/seed";
const char* const kCountKey = "temperature/count";
const char* const kSweepKey = "temperature/sweep";
constexpr int kSliderScale = 100;  // slider units per unit of T
constexpr double kMinT = 0.1, kMaxT = 1.5;
constexpr int kGridCell = 84;    // one sample: 28 px at 3×
constexpr int kSweepCell = 112;  // K samples tiled
constexpr int kTitleWidth = 170;

int tileColumnsFor(int count) {
    return std::max(1, int(std::ceil(std::sqrt(double(count)))));
}

QString tooltipForT() {
    return QObject::
        tr("<p>Sampling temperature T, the same number for every family (1: the model's own "
           "distribution; lower: safer, smoother, less varied; higher: wilder).</p>"
           "<ul><li>%1</li></ul>"
           "<p>The seed stays fixed, so only T moves the samples. Arrow keys and Page Up/Down step "
           "the slider.</p>")
            .arg(le::temperatureMeanings(QStringLiteral("</li><li>"), true));
}

}  // namespace

// One cell: an image scaled to fit with nearest-neighbour pixels (whole multiples where they
// fit), kept until the next one arrives, with an overlay for an error.
struct TemperatureView::Cell final : QWidget {
    explicit Cell(QWidget* parent) : QWidget(parent) { setAttribute(Qt::WA_OpaquePaintEvent); }

    QImage image;
    double temperature = std::numeric_limits<double>::quiet_NaN();
    bool complete = false;
    QString overlay;

    void paintEvent(QPaintEvent*) override {
        QPainter painter(this);
        painter.fillRect(rect(), palette().window());
        const QRect area = rect().adjusted(1, 1, -1, -1);
        if (image.isNull()) {
            painter.fillRect(area, QColor(32, 32, 36));
        } else {
            double scale = std::min(double(area.width()) / image.width(),
                                    double(area.height()) / image.height());
            if (scale >= 1.0) scale = std::floor(scale);
            QRect target(0, 0, int(image.width() * scale), int(image.height() * scale));
            target.moveCenter(area.center());
            painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
            painter.drawImage(target, image);
        }
        if (!overlay.isEmpty()) {
            painter.fillRect(area, QColor(150, 20, 20, 200));
            painter.setPen(Qt::white);
            painter.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, overlay);
        }
    }
};

TemperatureView::TemperatureView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(12);
    layout->addWidget(buildControls());
    layout->addWidget(buildGrid(), 1);

    connect(&m_job, &TemperatureGridJob::progress, this, &TemperatureView::onProgress,
            Qt::QueuedConnection);
    connect(&m_job, &TemperatureGridJob::cellReady, this, &TemperatureView::onCell,
            Qt::QueuedConnection);
    connect(&m_job, &TemperatureGridJob::finished, this, &TemperatureView::onFinished,
            Qt::QueuedConnection);

    addViewShortcut(this, QKeySequence(Qt::CTRL | Qt::Key_Return), [this] { resample(); });
    addViewShortcut(this, QKeySequence(Qt::Key_Escape), [this] { cancel(); });
    addViewShortcut(this, QKeySequence(Qt::CTRL | Qt::Key_T), [this] { setSweep(!isSweep()); });
    rebuildGrid();
}

TemperatureView::~TemperatureView() = default;

QWidget* TemperatureView::buildControls() {
    auto* box = new QGroupBox(tr("One temperature, every family"), this);
    box->setMaximumWidth(270);
    auto* form = new QFormLayout(box);
    QSettings settings;

    m_dataset = new QComboBox(box);
    m_dataset->setToolTip(tr("One row per model of this dataset that can sample"));
    connect(m_dataset, &QComboBox::currentIndexChanged, this, [this] {
        rebuildGrid();
        resample();
    });
    form->addRow(tr("&Dataset"), m_dataset);

    auto* tLabel = new QLabel(tr("&Temperature"), box);
    auto* tRow = new QHBoxLayout;
    m_slider = new QSlider(Qt::Horizontal, box);
    m_slider->setRange(int(kMinT * kSliderScale), int(kMaxT * kSliderScale));
    m_slider->setSingleStep(5);
    m_slider->setPageStep(25);
    m_slider->setTickInterval(25);
    m_slider->setTickPosition(QSlider::TicksBelow);
    m_slider->setValue(kSliderScale);
    m_slider->setToolTip(tooltipForT());
    m_spin = new QDoubleSpinBox(box);
    m_spin->setRange(kMinT, kMaxT);
    m_spin->setDecimals(2);
    m_spin->setSingleStep(0.05);
    m_spin->setValue(1.0);
    m_spin->setToolTip(tooltipForT());
    tLabel->setBuddy(m_slider);
    connect(m_slider, &QSlider::valueChanged, this, [this](int v) {
        const QSignalBlocker block(m_spin);
        m_spin->setValue(double(v) / kSliderScale);
        onTemperatureEdited();
    });
    connect(m_spin, &QDoubleSpinBox::valueChanged, this, [this](double t) {
        const QSignalBlocker block(m_slider);
        m_slider->setValue(int(std::lround(t * kSliderScale)));
        onTemperatureEdited();
    });
    tRow->addWidget(m_slider, 1);
    tRow->addWidget(m_spin);
    form->addRow(tLabel);
    form->addRow(tRow);

    m_sweep = new QCheckBox(tr("S&weep T = 0.25 \u2026 1.25"), box);
    m_sweep->setChecked(settings.value(kSweepKey, false).toBool());
    m_sweep->setToolTip(
        tr("Columns T = 0.25, 0.5, 0.75, 1, 1.25 for the same seed and samples, so each "
           "family's reaction to T sits side by side (Ctrl+T)"));
    connect(m_sweep, &QCheckBox::toggled, this, [this] {
        QSettings().setValue(kSweepKey, isSweep());
        rebuildGrid();
        resample();
    });
    form->addRow(m_sweep);

    m_count = new QSpinBox(box);
    m_count->setRange(1, 16);
    m_count->setValue(settings.value(kCountKey, 8).toInt());
    m_count->setToolTip(
        tr("K: the samples per model, indices 1\u2026K of the one seed (a PixelCNN draws "
           "them as one batch)"));
    connect(m_count, &QSpinBox::valueChanged, this, [this] {
        QSettings().setValue(kCountKey, m_count->value());
        rebuildGrid();
        resample();
    });
    form->addRow(tr("&Samples"), m_count);

    auto* seedRow = new QHBoxLayout;
    m_seed = new QSpinBox(box);
    m_seed->setRange(0, 1000000);
    m_seed->setValue(settings.value(kSeedKey, 1).toInt());
    m_seed->setToolTip(tr("The one seed every row uses: the same noise, only T moves"));
    connect(m_seed, &QSpinBox::valueChanged, this, [this] {
        QSettings().setValue(kSeedKey, m_seed->value());
        resample();
    });
    m_newSeed = new QPushButton(tr("New seed"), box);
    m_newSeed->setToolTip(tr("Draw other samples: the next seed (Ctrl+N)"));
    m_newSeed->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_N));
    connect(m_newSeed, &QPushButton::clicked, this, [this] { m_seed->stepUp(); });
    seedRow->addWidget(m_seed, 1);
    seedRow->addWidget(m_newSeed);
    auto* seedLabel = new QLabel(tr("S&eed"), box);
    seedLabel->setBuddy(m_seed);
    form->addRow(seedLabel, seedRow);

    const RunControls run = addRunControls(
        form, box, {},
        tr("Cells drawn for the newest temperature; an autoregressive row fills in as it goes"),
        tr("Stop sampling; the grid keeps what it shows (Esc)"));
    m_progress = run.progress;
    m_progress->setRange(0, 1);
    m_progress->setValue(1);
    m_cancel = run.cancel;
    m_cancel->setEnabled(false);
    connect(m_cancel, &QPushButton::clicked, this, &TemperatureView::cancel);

    m_status = addStatusLine(form, box);

    auto* legend =
        new QLabel(tr("<b>What T does</b><br>%1<br><br>Every row uses the same seed; Ctrl+Enter "
                      "re-samples.")
                       .arg(temperatureMeanings(QStringLiteral("<br>"), true)),
                   box);
    legend->setWordWrap(true);
    legend->setToolTip(tr("T = 1 samples each model's own distribution"));
    form->addRow(legend);
    return box;
}

QWidget* TemperatureView::buildGrid() {
    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    m_gridHost = new QWidget(scroll);
    auto* outer = new QVBoxLayout(m_gridHost);
    outer->setContentsMargins(0, 0, 0, 0);
    m_grid = new QGridLayout;
    m_grid->setHorizontalSpacing(4);
    m_grid->setVerticalSpacing(6);
    outer->addLayout(m_grid);
    outer->addStretch(1);
    scroll->setWidget(m_gridHost);
    return scroll;
}

void TemperatureView::setCheckpoints(const QVector<CatalogEntry>& entries) {
    m_entries = entries;
    const auto canSample = [](const CatalogEntry& e) { return e.capabilities.sample; };
    fillDatasetCombo(m_dataset, entries, canSample);
    const QVector<CatalogEntry> models =
        modelsOfDataset(m_entries, m_dataset->currentText(), canSample);
    if (sameModels(models, m_models) && m_columns > 0) return;  // a rescan that changes nothing
    rebuildGrid();
    resample();
}

QJsonObject TemperatureView::workspaceState(const WorkspaceContext&) const {
    return {{"dataset", m_dataset->currentText()},
            {"temperature", temperature()},
            {"sweep", isSweep()},
            {"count", m_count->value()},
            {"seed", m_seed->value()}};
}

void TemperatureView::restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context) {
    restoreComboText(m_dataset, state.value(QStringLiteral("dataset")), context,
                     tr("Temperature dataset"));
    restoreValue(m_spin, state.value(QStringLiteral("temperature")));
    restoreChecked(m_sweep, state.value(QStringLiteral("sweep")));
    restoreValue(m_count, state.value(QStringLiteral("count")));
    restoreValue(m_seed, state.value(QStringLiteral("seed")));
}

bool TemperatureView::isSweep() const {
    return m_sweep->isChecked();
}

void TemperatureView::setSweep(bool on) {
    m_sweep->setChecked(on);
}

double TemperatureView::temperature() const {
    return m_spin->value();
}

void TemperatureView::rebuildGrid() {
    m_models.clear();
    for (const CatalogEntry& e : m_entries)
        if (e.dataset == m_dataset->currentText() && e.capabilities.sample) m_models.push_back(e);
    while (QLayoutItem* item = m_grid->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_cells.clear();
    m_rowLabels.clear();
    m_rowStates.assign(size_t(m_models.size()), RowState());
    const bool sweep = isSweep();
    const std::vector<double> sweepTs = sweepTemperatures();
    m_columns = sweep ? int(sweepTs.size()) : m_count->value();
    m_slider->setEnabled(!sweep);
    m_spin->setEnabled(!sweep);
    const int side = sweep ? kSweepCell : kGridCell;

    for (int c = 0; c < m_columns; ++c) {
        auto* header = new QLabel(m_gridHost);
        header->setAlignment(Qt::AlignCenter);
        if (sweep) {
            const double t = sweepTs[size_t(c)];
            header->setText(t == 1.0 ? tr("<b>T = 1</b> (own)") : tr("<b>T = %1</b>").arg(t));
            header->setToolTip(tr("Every model at T = %1, the same seed and samples").arg(t));
        } else {
            header->setText(tr("#%1").arg(c + 1));
            header->setToolTip(tr("Sample %1 of the seed, in every row").arg(c + 1));
        }
        m_grid->addWidget(header, 0, c + 1);
    }
    for (int r = 0; r < m_models.size(); ++r) {
        auto* label = new QLabel(m_gridHost);
        label->setFixedWidth(kTitleWidth);
        label->setWordWrap(true);
        label->setToolTip(m_models[r].path);
        m_grid->addWidget(label, r + 1, 0);
        m_rowLabels.push_back(label);
        m_rowStates[size_t(r)].family = m_models[r].family;
        m_rowStates[size_t(r)].title = m_models[r].title();
        std::vector<Cell*> cells;
        for (int c = 0; c < m_columns; ++c) {
            auto* cell = new Cell(m_gridHost);
            cell->setFixedSize(side, side);
            cell->setToolTip(sweep ? tr("%1 at T = %2: samples 1\u2026K of the seed")
                                         .arg(m_models[r].title())
                                         .arg(sweepTs[size_t(c)])
                                   : tr("%1: sample %2 of the seed at the slider's T")
                                         .arg(m_models[r].title())
                                         .arg(c + 1));
            m_grid->addWidget(cell, r + 1, c + 1);
            cells.push_back(cell);
        }
        m_cells.push_back(std::move(cells));
        updateRowLabel(r);
    }
    for (int c = 0; c < m_grid->columnCount(); ++c) m_grid->setColumnStretch(c, 0);
    m_grid->setColumnStretch(m_columns + 1, 1);
    if (m_models.isEmpty())
        m_status->setText(m_entries.isEmpty()
                              ? tr("No model that can sample is loaded.")
                              : tr("No model that can sample is loaded for this dataset."));
    m_dirty = true;
}

void TemperatureView::onTemperatureEdited() {
    if (!isSweep()) resample();
}

void TemperatureView::resample() {
    if (m_models.isEmpty()) return;
    if (!isVisible()) {  // no work for a tab nobody looks at; showEvent catches up
        m_dirty = true;
        return;
    }
    m_dirty = false;
    TemperatureRequest request;
    for (const CatalogEntry& e : m_models) request.checkpoints << e.path;
    request.temperatures = isSweep() ? sweepTemperatures() : std::vector<double>{temperature()};
    request.count = m_count->value();
    request.seed = quint64(m_seed->value());
    request.tileColumns = tileColumnsFor(request.count);
    m_request = request;
    m_error.clear();
    m_generation = m_job.begin(request);  // never blocks: the running one stops at its next step
    m_running = true;
    m_cancel->setEnabled(true);
    m_progress->setRange(0, 0);
    m_status->setStyleSheet({});
    m_status->setText(
        isSweep()
            ? tr("Sweeping T over %n model(s)\u2026", nullptr, gridRows())
            : tr("Sampling %n model(s) at T = %1\u2026", nullptr, gridRows()).arg(temperature()));
}

void TemperatureView::cancel() {
    if (m_running) m_job.cancel();
}

void TemperatureView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (m_dirty) resample();
}

TemperatureView::Cell* TemperatureView::cellAt(int row, int column) const {
    if (row < 0 || row >= int(m_cells.size()) || column < 0 ||
        column >= int(m_cells[size_t(row)].size()))
        return nullptr;
    return m_cells[size_t(row)][size_t(column)];
}

QImage TemperatureView::cellImage(int row, int column) const {
    const Cell* cell = cellAt(row, column);
    return cell ? cell->image : QImage();
}

double TemperatureView::cellTemperature(int row, int column) const {
    const Cell* cell = cellAt(row, column);
    return cell ? cell->temperature : std::numeric_limits<double>::quiet_NaN();
}

bool TemperatureView::cellComplete(int row, int column) const {
    const Cell* cell = cellAt(row, column);
    return cell && cell->complete;
}

QString TemperatureView::rowText(int row) const {
    return m_rowLabels.value(row) ? m_rowLabels.value(row)->text() : QString();
}

void TemperatureView::onProgress(quint64 generation, qint64 done, qint64 total,
                                 const QString& what) {
    if (generation != m_generation) return;
    m_progress->setRange(0, int(total));
    m_progress->setValue(int(done));
    if (!what.isEmpty()) m_status->setText(what);
}

void TemperatureView::onCell(quint64 generation, const TemperatureCell& cell) {
    if (generation != m_generation || cell.row < 0 || cell.row >= gridRows()) return;
    const bool sweep = m_request.temperatures.size() > 1;
    RowState& state = m_rowStates[size_t(cell.row)];
    state.title = cell.title.isEmpty() ? state.title : cell.title;
    state.error = cell.error;
    state.ms = cell.ms;
    state.stepsDone = cell.stepsDone;
    state.totalSteps = cell.totalSteps;
    state.complete = cell.complete;
    auto show = [&](Cell* target, const cv::Mat& image) {
        if (!target) return;
        if (!image.empty()) target->image = matToQImage(image);
        target->temperature = cell.temperature;
        target->complete = cell.complete;
        target->overlay = cell.error.isEmpty() ? QString() : tr("failed");
        if (!cell.error.isEmpty()) target->setToolTip(cell.error);
        target->update();
    };
    if (sweep) {
        show(cellAt(cell.row, cell.column), cell.tile);
        emit cellShown(cell.row, cell.column, cell.complete);
    } else {
        for (int k = 0; k < m_columns; ++k) {
            show(cellAt(cell.row, k),
                 k < int(cell.images.size()) ? cell.images[size_t(k)] : cv::Mat());
            emit cellShown(cell.row, k, cell.complete);
        }
    }
    updateRowLabel(cell.row);
}

void TemperatureView::updateRowLabel(int row) {
    QLabel* label = m_rowLabels.value(row);
    if (!label) return;
    const RowState& s = m_rowStates[size_t(row)];
    QString detail;
    if (!s.error.isEmpty())
        detail =
            QStringLiteral("<span style='color:#b3261e'>%1</span>").arg(s.error.toHtmlEscaped());
    else if (!s.complete && s.totalSteps > 1)
        detail = tr("filling\u2026 %1%").arg(100 * s.stepsDone / s.totalSteps);
    else if (s.ms > 0)
        detail = tr("%1 ms").arg(s.ms, 0, 'f', s.ms < 10 ? 1 : 0);
    label->setText(QStringLiteral("<span style='color:%1'>\u25a0</span> <b>%2</b><br>"
                                  "<small>%3</small><br><small>%4</small>")
                       .arg(seriesColour(row).name(), s.title.toHtmlEscaped(),
                            temperatureMeaning(s.family).toHtmlEscaped(), detail));
    if (!s.error.isEmpty()) label->setToolTip(s.error);
}

void TemperatureView::onFinished(quint64 generation, bool cancelled, const QString& error) {
    if (generation != m_generation) return;
    m_running = false;
    m_cancel->setEnabled(false);
    m_progress->setRange(0, 1);
    m_progress->setValue(1);
    if (!error.isEmpty()) {
        showError(error);
    } else {
        m_status->setText(
            cancelled ? tr("Cancelled: the grid keeps what it had.")
            : m_request.temperatures.size() > 1
                ? tr("Sweep done: seed %1, %n sample(s) per cell.", nullptr, m_request.count)
                      .arg(m_request.seed)
                : tr("Done: T = %1, seed %2.")
                      .arg(m_request.temperatures.front())
                      .arg(m_request.seed));
        if (cancelled) m_dirty = true;
    }
    emit gridFinished(cancelled);
}

void TemperatureView::showError(const QString& message) {
    m_error = message;
    m_status->setStyleSheet(QStringLiteral("color: #b3261e;"));
    m_status->setText(message);
}

}  // namespace le
