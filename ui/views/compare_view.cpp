#include "ui/views/compare_view.h"

#include "core/jobs/temperature_grid_job.h"
#include "ui/qt_image.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/series_colours.h"
#include "ui/widgets/view_controls.h"
#include "ui/workspace_state.h"

#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>

namespace le {

namespace {

const char* const kCountKey = "compare/count";
const char* const kSeedKey = "compare/seed";
const char* const kLastExportKey = "compare/lastExport";
constexpr int kGridSize = 150;

// Row 0 is the data; the models follow in the order every view lists them.
QColor rowColour(int row) {
    return row == 0 ? QColor(Qt::black) : seriesColour(row - 1);
}

QString cell(double value, int decimals, const QString& suffix = {}) {
    return std::isnan(value) ? QStringLiteral("\u2014")
                             : QString::number(value, 'f', decimals) + suffix;
}

bool canSample(const CatalogEntry& e) {
    return e.capabilities.sample;
}

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(12);
    layout->addWidget(buildControls());
    layout->addWidget(buildResults(), 1);

    connect(&m_job, &CompareJob::progress, this, &CompareView::onProgress, Qt::QueuedConnection);
    connect(&m_job, &CompareJob::rowReady, this, &CompareView::onRow, Qt::QueuedConnection);
    connect(&m_job, &CompareJob::finished, this, &CompareView::onFinished, Qt::QueuedConnection);

    addViewShortcut(this, QKeySequence(Qt::CTRL | Qt::Key_Return), &CompareView::compare);
    addViewShortcut(this, QKeySequence(Qt::Key_Escape), &CompareView::cancel);
    updateButtons();
}

CompareView::~CompareView() = default;

QWidget* CompareView::buildControls() {
    auto* box = new QGroupBox(tr("Models against data"), this);
    box->setMaximumWidth(280);
    auto* form = new QFormLayout(box);
    QSettings settings;

    m_dataset = new QComboBox(box);
    m_dataset->setToolTip(
        tr("Every model of this dataset that can sample, against its test "
           "images"));
    connect(m_dataset, &QComboBox::currentIndexChanged, this, &CompareView::rebuildColumns);
    form->addRow(tr("&Dataset"), m_dataset);
    m_count = new QSpinBox(box);
    m_count->setRange(4, 1024);
    m_count->setValue(settings.value(kCountKey, 64).toInt());
    m_count->setToolTip(
        tr("Samples per model and real images in the data column; more gives "
           "steadier numbers (a PixelCNN needs about half a second each)"));
    form->addRow(tr("&Samples"), m_count);
    m_seed = new QSpinBox(box);
    m_seed->setRange(0, 1000000);
    m_seed->setValue(settings.value(kSeedKey, 1).toInt());
    m_seed->setToolTip(tr("The same seed for every model"));
    form->addRow(tr("S&eed"), m_seed);
    m_temperature = new QDoubleSpinBox(box);
    // 0 reads "family default": each family at the temperature its literature samples at
    // (Glow 0.7, the others 1).
    m_temperature->setRange(0.0, 2.0);
    m_temperature->setSingleStep(0.05);
    m_temperature->setSpecialValueText(tr("family default"));
    m_temperature->setValue(0.0);
    m_temperature->setToolTip(
        tr("Sampling temperature for every model; \"family default\" draws each family at the "
           "one its literature uses (Glow at 0.7, the others at 1: the model's own distribution; "
           "lower is smoother). %1. The Temperature tab moves it live.")
            .arg(temperatureMeanings(QStringLiteral(". "))));
    form->addRow(tr("&Temperature"), m_temperature);

    const RunControls run = addRunControls(
        form, box,
        {tr("Compare"), tr("Sample every model and measure it against the data (Ctrl+Enter)")},
        tr("Samples drawn over all models"), tr("Stop after the current batch of samples (Esc)"));
    m_run = run.run;
    m_progress = run.progress;
    m_cancel = run.cancel;
    connect(m_run, &QPushButton::clicked, this, &CompareView::compare);
    connect(m_cancel, &QPushButton::clicked, this, &CompareView::cancel);

    std::tie(m_exportCsv, m_exportFigure) = addExportRow(
        form, box, {tr("CSV\u2026"), tr("Export the table as CSV (Ctrl+E)")},
        {tr("PNG\u2026"), tr("Export the figure (samples, table, spectra) as PNG (Ctrl+Shift+E)")});
    connect(m_exportCsv, &QPushButton::clicked, this, [this] { chooseExport(false); });
    connect(m_exportFigure, &QPushButton::clicked, this, [this] { chooseExport(true); });
    m_status = addStatusLine(form, box);
    auto* verdictTitle = new QLabel(tr("<b>Blurrier or sharper?</b>"), box);
    form->addRow(verdictTitle);
    m_verdict = new QLabel(tr("Compare to see whether these models bear out the claim that VAEs "
                              "are blurrier and GANs sharper."),
                           box);
    m_verdict->setWordWrap(true);
    m_verdict->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_verdict->setToolTip(
        tr("Ratios to the data: 1 is as sharp as the real images, below 1 "
           "blurrier"));
    form->addRow(m_verdict);
    return box;
}

QWidget* CompareView::buildResults() {
    m_figure = new QWidget(this);
    m_figure->setAutoFillBackground(true);
    auto* column = new QVBoxLayout(m_figure);
    column->setContentsMargins(0, 0, 0, 0);

    auto* scroll = new QScrollArea(m_figure);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* strip = new QWidget(scroll);
    m_gridRow = new QHBoxLayout(strip);
    m_gridRow->setContentsMargins(0, 0, 0, 0);
    m_gridRow->addStretch(1);
    scroll->setWidget(strip);
    scroll->setFixedHeight(kGridSize + 44);
    column->addWidget(scroll);

    m_table = new QTableWidget(0, ColumnCount, m_figure);
    const QStringList headers = {tr("Model"),
                                 tr("Sharpness \u00d7 data"),
                                 tr("HF energy \u00d7 data"),
                                 tr("Recon MSE"),
                                 tr("Bits/dim"),
                                 tr("Classifier FD"),
                                 tr("Recon FD"),
                                 tr("ms/sample")};
    const QStringList tips = {
        tr("The real test images first, then each model"),
        tr("Variance of the Laplacian of the samples over the data's: below 1 is blurrier"),
        tr("Share of spectral power in the outer half of the radii, over the data's: below 1 "
           "has less fine detail"),
        tr("Encode and decode the real images (per pixel MSE on [-1, 1]); \u2014 without an "
           "encoder"),
        tr("Exact negative log-likelihood in bits per dimension (Glow, PixelCNN)"),
        tr("Fr\u00e9chet distance in the features of the project's own classifier against "
           "held-out images (not FID); the data row is the floor at this sample count"),
        tr("The same distance for the real images' reconstructions: how close decoding alone "
           "comes. Samples further than this lose the rest in the prior; \u2014 without an "
           "encoder"),
        tr("Sampling time per image, batched where the family can")};
    m_table->setHorizontalHeaderLabels(headers);
    for (int c = 0; c < ColumnCount; ++c) m_table->horizontalHeaderItem(c)->setToolTip(tips[c]);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setToolTip(tr("Every number relative to the data where it can be"));
    column->addWidget(m_table, 2);

    m_plot = new QCustomPlot(m_figure);
    m_plot->setMinimumHeight(200);
    m_plot->setToolTip(
        tr("Radially averaged power spectrum: power by spatial frequency, log "
           "scale; a curve below the data's at high frequency is blurrier"));
    m_plot->xAxis->setLabel(tr("spatial frequency (radius, cycles per image)"));
    m_plot->yAxis->setLabel(tr("power"));
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_plot->yAxis->setNumberFormat(QStringLiteral("eb"));
    m_plot->yAxis->setNumberPrecision(0);
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(QFont(font().family(), 8));
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    column->addWidget(m_plot, 3);
    return m_figure;
}

void CompareView::setCheckpoints(const QVector<CatalogEntry>& entries) {
    m_entries = entries;
    fillDatasetCombo(m_dataset, entries, canSample);
    // A rescan that changes nothing here keeps the results (and a comparison in progress).
    if (!sameModels(comparedModels(), m_models) || m_rows.empty()) rebuildColumns();
}

QVector<CatalogEntry> CompareView::comparedModels() const {
    return modelsOfDataset(m_entries, m_dataset->currentText(), canSample);
}

void CompareView::rebuildColumns() {
    if (m_running) m_job.cancel();
    qDeleteAll(m_gridColumns);
    m_gridColumns.clear();
    m_grids.clear();
    m_models = comparedModels();
    m_rows.assign(size_t(m_models.size() + 1), CompareRow());
    m_table->setRowCount(m_models.size() + 1);
    QWidget* strip = m_gridRow->parentWidget();
    for (int row = 0; row <= m_models.size(); ++row) {
        auto* column = new QWidget(strip);
        auto* layout = new QVBoxLayout(column);
        layout->setContentsMargins(0, 0, 0, 0);
        layout->setSpacing(2);
        const QString title = row == 0 ? tr("Data \u00b7 %1").arg(m_dataset->currentText())
                                       : m_models[row - 1].title();
        auto* label = new QLabel(QStringLiteral("<span style='color:%1'>\u25a0</span> <b>%2</b>")
                                     .arg(rowColour(row).name(), title.toHtmlEscaped()),
                                 column);
        label->setToolTip(row == 0 ? tr("Real test images") : m_models[row - 1].path);
        auto* view = new ImageView(column);
        view->setFixedSize(kGridSize, kGridSize);
        view->setToolTip(row == 0 ? tr("Real test images, the first of the split")
                                  : tr("Samples, the same seed as every other model"));
        layout->addWidget(label);
        layout->addWidget(view);
        m_gridRow->insertWidget(m_gridRow->count() - 1, column);
        m_gridColumns.push_back(column);
        m_grids.push_back(view);
        m_rows[size_t(row)].title = title;
        fillTableRow(row);
    }
    m_plot->clearGraphs();
    m_plot->replot();
    if (m_models.isEmpty())
        m_status->setText(tr("No model that can sample is loaded for this dataset."));
    updateButtons();
}

QJsonObject CompareView::workspaceState(const WorkspaceContext&) const {
    return {{"dataset", m_dataset->currentText()},
            {"count", m_count->value()},
            {"seed", m_seed->value()},
            {"temperature", m_temperature->value()},
            {"compared", m_running || !m_rows.empty()}};
}

void CompareView::restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context) {
    restoreComboText(m_dataset, state.value(QStringLiteral("dataset")), context,
                     tr("Compare dataset"));
    restoreValue(m_count, state.value(QStringLiteral("count")));
    restoreValue(m_seed, state.value(QStringLiteral("seed")));
    restoreValue(m_temperature, state.value(QStringLiteral("temperature")));
    if (state.value(QStringLiteral("compared")).toBool()) compare();
}

void CompareView::compare() {
    if (m_models.isEmpty()) return;
    CompareRequest request;
    request.dataset = m_dataset->currentText();
    for (const CatalogEntry& e : m_models) request.checkpoints << e.path;
    request.count = m_count->value();
    request.seed = quint64(m_seed->value());
    request.temperature = m_temperature->value();
    request.classifierPath = m_classifierPath;
    QSettings settings;
    settings.setValue(kCountKey, request.count);
    settings.setValue(kSeedKey, m_seed->value());
    const QString dataset = m_dataset->currentText();
    rebuildColumns();
    m_error.clear();
    for (ImageView* view : m_grids) view->setOverlayText(tr("\u2026"));
    m_progress->setRange(0, 0);
    m_status->setText(
        tr("Comparing %n model(s) with %1\u2026", nullptr, m_models.size()).arg(dataset));
    m_verdict->setText(tr("\u2026"));
    m_running = true;
    m_generation = m_job.begin(request);
    updateButtons();
}

void CompareView::cancel() {
    if (m_running) m_job.cancel();
}

void CompareView::onProgress(quint64 generation, qint64 done, qint64 total, const QString& what) {
    if (generation != m_generation) return;
    m_progress->setRange(0, int(total));
    m_progress->setValue(int(done));
    if (!what.isEmpty()) m_status->setText(what);
}

void CompareView::onRow(quint64 generation, int row, const CompareRow& result) {
    if (generation != m_generation || row < 0 || row >= int(m_rows.size())) return;
    m_rows[size_t(row)] = result;
    ImageView* view = m_grids.value(row);
    if (view) {
        view->setImage(matToQImage(result.grid));
        view->setOverlayText(result.grid.empty() ? tr("failed: %1").arg(result.error) : QString());
        if (!result.error.isEmpty()) view->setToolTip(result.error);
    }
    fillTableRow(row);
    plotSpectra();
}

void CompareView::fillTableRow(int row) {
    const CompareRow& r = m_rows[size_t(row)];
    const bool data = row == 0;
    const bool failed = !data && r.grid.empty();
    QString title = r.title;
    if (!data && std::isfinite(r.temperature))
        title += tr(" \u00b7 T %1").arg(QString::number(r.temperature, 'f', 2));
    if (failed) title += tr(" \u2014 failed: %1").arg(r.error);
    const QStringList values = {
        title,
        data || std::isnan(r.sharpnessRatio)
            ? cell(r.sharpness, 0)
            : QStringLiteral("%1 (%2)").arg(cell(r.sharpnessRatio, 2, QStringLiteral("\u00d7")),
                                            cell(r.sharpness, 0)),
        data || std::isnan(r.highFrequencyRatio)
            ? cell(r.highFrequency * 100, 2, QStringLiteral("%"))
            : QStringLiteral("%1 (%2)").arg(cell(r.highFrequencyRatio, 2, QStringLiteral("\u00d7")),
                                            cell(r.highFrequency * 100, 2, QStringLiteral("%"))),
        cell(r.reconstructionMse, 4),
        cell(r.bitsPerDim, 3),
        data && !std::isnan(r.classifierFd)
            ? QStringLiteral("%1 (floor)").arg(cell(r.classifierFd, 2))
            : cell(r.classifierFd, 2),
        cell(r.reconstructionFd, 2),
        cell(r.msPerSample, 1)};
    for (int c = 0; c < ColumnCount; ++c) {
        auto* item = new QTableWidgetItem(values[c]);
        if (c == ModelColumn) item->setForeground(rowColour(row));
        if (!r.error.isEmpty()) item->setToolTip(r.error);
        m_table->setItem(row, c, item);
    }
}

void CompareView::plotSpectra() {
    m_plot->clearGraphs();
    double low = 1e300, high = 0;
    for (size_t row = 0; row < m_rows.size(); ++row) {
        const CompareRow& r = m_rows[row];
        if (r.spectrum.size() < 2) continue;
        QCPGraph* graph = m_plot->addGraph();
        graph->setName(r.title);
        graph->setPen(QPen(rowColour(int(row)), row == 0 ? 2.5 : 1.6,
                           row == 0 ? Qt::DashLine : Qt::SolidLine));
        for (size_t k = 1; k < r.spectrum.size(); ++k) {  // no DC: the mean was removed
            const double p = std::max(r.spectrum[k], 1e-12);
            graph->addData(double(k), p);
            low = std::min(low, p);
            high = std::max(high, p);
        }
    }
    if (high > 0) {
        m_plot->xAxis->rescale();
        m_plot->yAxis->setRange(low / 1.5, high * 1.5);
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void CompareView::onFinished(quint64 generation, bool cancelled, const QString& error) {
    if (generation != m_generation) return;
    m_running = false;
    m_progress->setRange(0, 1);
    m_progress->setValue(1);
    for (ImageView* view : m_grids)
        if (view->overlayText() == QStringLiteral("\u2026")) view->setOverlayText({});
    if (!error.isEmpty())
        showError(error);
    else
        m_status->setText(cancelled ? tr("Cancelled.") : tr("Done."));
    m_verdict->setText(verdictText());
    updateButtons();
    emit comparisonFinished(cancelled);
}

QString CompareView::verdictText() const {
    if (m_rows.size() < 2 || m_rows[0].spectrum.empty()) return {};
    return blurVerdict(m_rows);
}

bool CompareView::exportCsv(const QString& path) {
    QSaveFile file(path);
    const QByteArray bytes = compareCsv(m_rows).toUtf8();
    if (m_rows.empty() || m_rows[0].spectrum.empty()) {
        showError(tr("%1: nothing to export yet: compare first").arg(path));
        return false;
    }
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        showError(tr("%1: cannot write: %2").arg(path, file.errorString()));
        return false;
    }
    m_status->setText(tr("Wrote %1").arg(QFileInfo(path).fileName()));
    return true;
}

bool CompareView::exportFigure(const QString& path) {
    if (m_rows.empty() || m_rows[0].spectrum.empty()) {
        showError(tr("%1: nothing to export yet: compare first").arg(path));
        return false;
    }
    if (!m_figure->grab().save(path, "PNG")) {
        showError(tr("%1: cannot write the PNG").arg(path));
        return false;
    }
    m_status->setText(tr("Wrote %1").arg(QFileInfo(path).fileName()));
    return true;
}

void CompareView::chooseExport(bool figure) {
    QSettings settings;
    const QDir dir(settings.value(kLastExportKey).toString());
    const QString path =
        figure ? QFileDialog::getSaveFileName(this, tr("Export the figure"),
                                              dir.filePath(QStringLiteral("compare.png")),
                                              tr("PNG image (*.png)"))
               : QFileDialog::getSaveFileName(this, tr("Export the table"),
                                              dir.filePath(QStringLiteral("compare.csv")),
                                              tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    settings.setValue(kLastExportKey, QFileInfo(path).absolutePath());
    figure ? exportFigure(path) : exportCsv(path);
}

void CompareView::showError(const QString& message) {
    m_error = message;
    m_status->setText(message);
}

void CompareView::updateButtons() {
    m_run->setEnabled(!m_models.isEmpty());
    m_cancel->setEnabled(m_running);
}

}  // namespace le
