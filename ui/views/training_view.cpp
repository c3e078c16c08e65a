#include "ui/views/training_view.h"

#include "core/storage/model_catalog.h"
#include "ui/qt_image.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/series_colours.h"
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
#include <QHash>
#include <QImage>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

const char* const kFormKey = "training/form/";
const char* const kLayoutKey = "training/layout";
// Stable names for the choices (settings and workspaces outlive translations).
const char* const kByStep = "step";
const char* const kByWallTime = "wall_time";
const char* const kOverlaid = "overlaid";
const char* const kSmallMultiples = "small_multiples";

QString duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("\u2014");
    const qint64 s = qint64(seconds + 0.5);
    if (s < 60) return QStringLiteral("%1 s").arg(s);
    if (s < 3600) return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QStringLiteral("%1 h %2 min").arg(s / 3600).arg(s % 3600 / 60);
}

// A range an axis accepts: a single point gets some room around it.
QCPRange withRoom(const QCPRange& range) {
    return range.size() > 0 ? range : QCPRange(range.lower - 0.5, range.upper + 0.5);
}

QString refName(const QJsonValue& ref) {
    const QJsonObject object = ref.toObject();
    const QString path = object.value(QStringLiteral("path")).toString();
    return path.isEmpty() ? object.value(QStringLiteral("relative")).toString() : path;
}

}  // namespace

TrainingView::TrainingView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(12);
    auto* left = new QVBoxLayout;
    left->addWidget(buildForm());
    left->addWidget(buildRunList(), 1);
    layout->addLayout(left);
    layout->addWidget(buildMonitor(), 1);

    connect(&m_job, &TrainingJob::progress, this, &TrainingView::onProgress, Qt::QueuedConnection);
    connect(&m_job, &TrainingJob::snapshot, this, &TrainingView::onSnapshot, Qt::QueuedConnection);
    connect(&m_job, &TrainingJob::runFinished, this, &TrainingView::onFinished,
            Qt::QueuedConnection);
    // runFinished arrives while the thread still winds down; the form opens once it has.
    connect(&m_job, &QThread::finished, this, &TrainingView::updateButtons, Qt::QueuedConnection);
    updateButtons();
}

TrainingView::~TrainingView() = default;

QWidget* TrainingView::buildForm() {
    auto* box = new QGroupBox(tr("New run"), this);
    box->setMaximumWidth(300);
    auto* form = new QFormLayout(box);
    QSettings settings;
    const QString key = QString::fromLatin1(kFormKey);

    m_family = new QComboBox(box);
    for (const std::string& f : ModelRegistry::instance().families())
        m_family->addItem(familyTitle(QString::fromStdString(f)), QString::fromStdString(f));
    m_family->setCurrentIndex(
        std::max(0, m_family->findData(settings.value(key + "family", "vae").toString())));
    m_family->setToolTip(tr("The model family to train"));
    connect(m_family, &QComboBox::currentIndexChanged, this, &TrainingView::updateButtons);
    form->addRow(tr("&Family"), m_family);

    auto* datasetRow = new QHBoxLayout;
    m_dataset = new QComboBox(box);
    m_dataset->setEditable(true);
    m_dataset->addItems(
        {QStringLiteral("fashion-mnist"), QStringLiteral("faces"), QStringLiteral("faces64")});
    m_dataset->setCurrentText(settings.value(key + "dataset", "fashion-mnist").toString());
    m_dataset->setToolTip(tr("fashion-mnist, faces (32\u00d732), faces64, or a folder of images"));
    auto* browse = new QToolButton(box);
    browse->setText(QStringLiteral("\u2026"));
    browse->setToolTip(tr("Train on a folder of images"));
    connect(browse, &QToolButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("A folder of images"));
        if (!dir.isEmpty()) m_dataset->setCurrentText(dir);
    });
    datasetRow->addWidget(m_dataset, 1);
    datasetRow->addWidget(browse);
    auto* datasetLabel = new QLabel(tr("&Dataset"), box);
    datasetLabel->setBuddy(m_dataset);
    form->addRow(datasetLabel, datasetRow);

    m_latent = new QSpinBox(box);
    m_latent->setRange(2, 512);
    m_latent->setValue(settings.value(key + "latent", 16).toInt());
    m_latent->setToolTip(tr("Latent size (for the families that have one to set)"));
    form->addRow(tr("&Latent"), m_latent);
    m_steps = new QSpinBox(box);
    m_steps->setRange(1, 10000000);
    m_steps->setValue(settings.value(key + "steps", 2000).toInt());
    m_steps->setToolTip(tr("Optimiser steps"));
    form->addRow(tr("S&teps"), m_steps);
    m_batch = new QSpinBox(box);
    m_batch->setRange(1, 4096);
    m_batch->setValue(settings.value(key + "batch", 64).toInt());
    m_batch->setToolTip(tr("Images per step"));
    form->addRow(tr("&Batch"), m_batch);
    m_lr = new QDoubleSpinBox(box);
    m_lr->setDecimals(5);
    m_lr->setRange(0, 1);
    m_lr->setSingleStep(0.0001);
    m_lr->setSpecialValueText(tr("family default"));
    m_lr->setValue(settings.value(key + "lr", 0.0).toDouble());
    m_lr->setToolTip(tr("Learning rate; 0 keeps the family's own"));
    form->addRow(tr("Learning &rate"), m_lr);
    m_seed = new QSpinBox(box);
    m_seed->setRange(0, 1000000);
    m_seed->setValue(settings.value(key + "seed", 1).toInt());
    m_seed->setToolTip(tr("Seeds the shuffle and the snapshots"));
    form->addRow(tr("S&eed"), m_seed);
    m_device = new QComboBox(box);
    m_device->addItems({QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")});
    m_device->setToolTip(tr("Where the run trains: auto picks CUDA when LibTorch has it"));
    form->addRow(tr("De&vice"), m_device);
    m_options = new QLineEdit(box);
    m_options->setPlaceholderText(tr("key=value \u2026 (e.g. hidden=32 beta=2)"));
    m_options->setText(settings.value(key + "options").toString());
    m_options->setToolTip(tr("Further model configuration, as the CLI's --set KEY=VALUE"));
    form->addRow(tr("&Options"), m_options);

    m_start = new QPushButton(tr("Start training"), box);
    m_start->setToolTip(tr("Start a run with these settings in the background (Ctrl+Enter)"));
    m_start->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
    connect(m_start, &QPushButton::clicked, this, &TrainingView::start);
    form->addRow(m_start);
    return box;
}

QWidget* TrainingView::buildRunList() {
    auto* box = new QGroupBox(tr("Runs"), this);
    box->setMaximumWidth(300);
    auto* column = new QVBoxLayout(box);
    m_list = new QListWidget(box);
    m_list->setToolTip(tr("Every run kept on disk; ticked runs are drawn on the plot"));
    connect(m_list, &QListWidget::itemChanged, this, [this] { redrawCurves(); });
    connect(m_list, &QListWidget::currentItemChanged, this, [this] {
        showSelected();
        updateButtons();
    });
    column->addWidget(m_list, 1);
    m_open = new QPushButton(tr("Open in the views"), box);
    m_open->setToolTip(tr("Open the selected run's checkpoint in the other tabs (Ctrl+Shift+O)"));
    m_open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    connect(m_open, &QPushButton::clicked, this, &TrainingView::openSelected);
    column->addWidget(m_open);
    return box;
}

QWidget* TrainingView::buildMonitor() {
    auto* panel = new QWidget(this);
    auto* column = new QVBoxLayout(panel);
    column->setContentsMargins(0, 0, 0, 0);

    auto* top = new QHBoxLayout;
    m_progress = new QProgressBar(panel);
    m_progress->setToolTip(tr("Steps of the run in progress"));
    m_progress->setFormat(tr("%v / %m steps"));
    m_eta = new QLabel(panel);
    m_eta->setToolTip(tr("Elapsed and estimated time left"));
    m_pause = new QPushButton(tr("Pause"), panel);
    m_pause->setToolTip(tr("Pause or resume the run (Ctrl+P)"));
    m_pause->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    connect(m_pause, &QPushButton::clicked, this, [this] { setPaused(!m_job.isPaused()); });
    m_stop = new QPushButton(tr("Stop"), panel);
    m_stop->setToolTip(
        tr("Stop the run; it keeps what it learned and saves a checkpoint "
           "(Ctrl+.)"));
    m_stop->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    connect(m_stop, &QPushButton::clicked, this, &TrainingView::stop);
    top->addWidget(m_progress, 1);
    top->addWidget(m_eta);
    top->addWidget(m_pause);
    top->addWidget(m_stop);
    column->addLayout(top);

    m_status = new QLabel(panel);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    column->addWidget(m_status);

    auto* middle = new QHBoxLayout;
    m_plot = new QCustomPlot(panel);
    m_plot->setMinimumSize(300, 240);
    m_plot->setToolTip(tr("Training loss of every ticked run"));
    m_plot->xAxis->setLabel(tr("step"));
    m_plot->yAxis->setLabel(tr("loss"));
    m_plot->legend->setVisible(true);
    m_plot->legend->setFont(QFont(font().family(), 8));
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_overlayRect = m_plot->axisRect();
    m_panelMargins = new QCPMarginGroup(m_plot);
    middle->addWidget(m_plot, 1);

    auto* side = new QVBoxLayout;
    m_snapshotLabel = new QLabel(tr("<b>Samples</b>"), panel);
    side->addWidget(m_snapshotLabel);
    m_snapshot = new ImageView(panel);
    m_snapshot->setFixedSize(200, 200);
    m_snapshot->setPlaceholderText(tr("Snapshots appear as the run trains"));
    m_snapshot->setToolTip(
        tr("The newest sample snapshot of the selected run (same seed each "
           "time)"));
    side->addWidget(m_snapshot);
    side->addStretch(1);
    middle->addLayout(side);
    column->addLayout(middle, 1);

    auto* controls = new QHBoxLayout;
    m_axis = new QComboBox(panel);
    m_axis->addItem(tr("by step"), QString::fromLatin1(kByStep));
    m_axis->addItem(tr("by wall time"), QString::fromLatin1(kByWallTime));
    m_axis->setToolTip(tr("Horizontal axis: training steps, or seconds since the run started"));
    connect(m_axis, &QComboBox::currentIndexChanged, this, &TrainingView::redrawCurves);
    m_smoothing = new QSlider(Qt::Horizontal, panel);
    m_smoothing->setRange(0, 99);
    m_smoothing->setValue(QSettings().value(QStringLiteral("training/smoothing"), 60).toInt());
    m_smoothing->setToolTip(tr("Exponential smoothing of the curves (0: raw)"));
    connect(m_smoothing, &QSlider::valueChanged, this, [this](int value) {
        QSettings().setValue(QStringLiteral("training/smoothing"), value);
        redrawCurves();
    });
    m_layout = new QComboBox(panel);
    m_layout->addItem(tr("Overlaid"), QString::fromLatin1(kOverlaid));
    m_layout->addItem(tr("Small multiples"), QString::fromLatin1(kSmallMultiples));
    m_layout->setCurrentIndex(std::max(
        0, m_layout->findData(QSettings().value(kLayoutKey, QString::fromLatin1(kOverlaid)))));
    m_layout->setToolTip(
        tr("Overlaid: every ticked run on one plot, with a legend. Small multiples: a small plot "
           "per ticked run, titled in its colour; all share the horizontal scale, and runs of one "
           "family the loss scale"));
    connect(m_layout, &QComboBox::currentIndexChanged, this, [this] {
        QSettings().setValue(kLayoutKey, m_layout->currentData());
        redrawCurves();
    });
    auto* axisLabel = new QLabel(tr("&Axis"), panel);
    axisLabel->setBuddy(m_axis);
    controls->addWidget(axisLabel);
    controls->addWidget(m_axis);
    auto* layoutLabel = new QLabel(tr("La&yout"), panel);
    layoutLabel->setBuddy(m_layout);
    controls->addWidget(layoutLabel);
    controls->addWidget(m_layout);
    auto* smoothingLabel = new QLabel(tr("S&moothing"), panel);
    smoothingLabel->setBuddy(m_smoothing);
    controls->addWidget(smoothingLabel);
    controls->addWidget(m_smoothing, 1);
    column->addLayout(controls);
    return panel;
}

void TrainingView::setRunsDirectory(const QString& dir) {
    m_runsDir = dir;
    showOverlaid();  // the panels' graphs belong to the runs about to go
    for (const Run& run : m_runs) delete run.item;
    m_runs.clear();
    m_plot->clearGraphs();
    for (const RunRecord& record : listRuns(dir)) addRun(record);
    if (m_runs.isEmpty())
        showStatus(tr("No runs yet in %1: fill in the form and start one.").arg(dir), false);
    if (m_list->count() > 0) m_list->setCurrentRow(m_list->count() - 1);
    redrawCurves();
    updateButtons();
}

void TrainingView::addRun(const RunRecord& record) {
    Run run;
    run.record = record;
    run.item = new QListWidgetItem(m_list);
    run.item->setFlags(run.item->flags() | Qt::ItemIsUserCheckable);
    run.item->setCheckState(Qt::Checked);
    run.item->setData(Qt::UserRole, record.dir);
    run.graph = m_plot->addGraph();
    run.graph->setPen(QPen(seriesColour(m_runs.size()), 1.6));
    run.graph->setName(record.spec.title());
    m_runs.insert(record.dir, run);
    updateRunItem(m_runs[record.dir]);
}

void TrainingView::updateRunItem(Run& run) {
    const RunRecord& r = run.record;
    QSignalBlocker block(m_list);
    run.item->setText(
        QStringLiteral("%1\n%2 \u00b7 %3 steps").arg(r.spec.title(), r.status).arg(r.stepsDone));
    run.item->setForeground(run.graph ? run.graph->pen().color() : QColor(Qt::black));
    run.item->setToolTip(r.message.isEmpty() ? r.dir : r.dir + QLatin1Char('\n') + r.message);
}

QCPGraph* TrainingView::graphFor(const QString& runDir) const {
    const auto it = m_runs.find(runDir);
    if (it == m_runs.end()) return nullptr;
    return it->panelGraph ? it->panelGraph : it->graph;
}

bool TrainingView::showsSmallMultiples() const {
    return m_layout->currentData().toString() == QLatin1String(kSmallMultiples);
}

int TrainingView::curvePanelCount() const {
    int count = 0;
    for (const QCPAxisRect* rect : m_plot->axisRects()) {
        const QList<QCPGraph*> graphs = rect->graphs();
        count += std::any_of(graphs.begin(), graphs.end(),
                             [](const QCPGraph* graph) { return graph->visible(); });
    }
    return count;
}

QStringList TrainingView::tickedRuns() const {
    QStringList dirs;
    for (int i = 0; i < m_list->count(); ++i) {
        const QListWidgetItem* item = m_list->item(i);
        const QString dir = item->data(Qt::UserRole).toString();
        // An item being added is ticked before its run is in m_runs.
        if (item->checkState() == Qt::Checked && m_runs.contains(dir)) dirs << dir;
    }
    return dirs;
}

void TrainingView::redrawCurves() {
    const bool byTime = m_axis->currentData().toString() == QLatin1String(kByWallTime);
    const double alpha = m_smoothing->value() / 100.0;
    const QStringList ticked = tickedRuns();
    if (!showsSmallMultiples() || ticked.isEmpty())
        showOverlaid();
    else if (ticked != m_panelRuns)
        showPanels(ticked);
    for (Run& run : m_runs) setCurve(run, ticked.contains(run.record.dir), byTime, alpha);

    const QString keyLabel = byTime ? tr("wall time (s)") : tr("step");
    m_plot->xAxis->setLabel(keyLabel);
    for (const QString& dir : std::as_const(m_panelRuns))
        m_runs[dir].panelGraph->keyAxis()->setLabel(keyLabel);
    m_plot->legend->setVisible(m_plot->legend->itemCount() > 0);
    if (m_panels)
        fitPanelRanges();
    else
        m_plot->rescaleAxes(/*onlyVisiblePlottables=*/true);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingView::setCurve(Run& run, bool shown, bool byTime, double alpha) {
    run.graph->setVisible(shown);
    run.graph->removeFromLegend();
    if (shown) run.graph->addToLegend();
    QVector<double> keys, values;
    double smooth = std::nan("");
    for (const LossPoint& p : run.record.losses) {
        if (!std::isfinite(p.loss)) continue;
        smooth = std::isnan(smooth) ? p.loss : alpha * smooth + (1 - alpha) * p.loss;
        keys.push_back(byTime ? p.seconds : double(p.step));
        values.push_back(smooth);
    }
    run.graph->setData(keys, values, /*alreadySorted=*/true);
    if (run.panelGraph) run.panelGraph->setData(keys, values, /*alreadySorted=*/true);
}

void TrainingView::showOverlaid() {
    if (!m_panels) return;
    removePanels();
    m_plot->plotLayout()->addElement(0, 0, m_overlayRect);
    m_overlayRect->setVisible(true);
}

// A grid about as wide as tall, filled row by row in the list's order.
void TrainingView::showPanels(const QStringList& runDirs) {
    if (m_panels) {
        removePanels();
    } else {
        // Out of the layout it keeps its axes, curves and legend for the way back; hidden, or they
        // would still draw where it last was.
        m_plot->plotLayout()->take(m_overlayRect);
        m_overlayRect->setVisible(false);
    }
    m_panels = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(0, 0, m_panels);
    m_panels->setColumnSpacing(14);
    m_panels->setRowSpacing(8);
    const int columns = int(std::ceil(std::sqrt(double(runDirs.size()))));
    for (int i = 0; i < runDirs.size(); ++i) {
        auto* cell = new QCPLayoutGrid;
        m_panels->addElement(i / columns, i % columns, cell);
        addPanel(m_runs[runDirs[i]], cell, i % columns == 0);
    }
    m_panelRuns = runDirs;
}

void TrainingView::addPanel(Run& run, QCPLayoutGrid* cell, bool leftColumn) {
    const QFont small(font().family(), 8);
    QFont bold = small;
    bold.setBold(true);
    auto* title = new QCPTextElement(m_plot, run.record.spec.title(), bold);
    title->setTextColor(run.graph->pen().color());
    title->setMargins(QMargins(0, 2, 0, 0));
    auto* rect = new QCPAxisRect(m_plot);
    cell->setRowSpacing(0);
    cell->addElement(0, 0, title);
    cell->addElement(1, 0, rect);
    rect->setMarginGroup(QCP::msAll, m_panelMargins);
    QCPAxis* keyAxis = rect->axis(QCPAxis::atBottom);
    QCPAxis* valueAxis = rect->axis(QCPAxis::atLeft);
    for (QCPAxis* axis : {keyAxis, valueAxis}) {
        axis->setTickLabelFont(small);
        axis->setLabelFont(small);
    }
    if (leftColumn) valueAxis->setLabel(tr("loss"));
    run.panelGraph = m_plot->addGraph(keyAxis, valueAxis);
    run.panelGraph->setPen(run.graph->pen());
    run.panelGraph->setName(run.graph->name());
    run.panelGraph->removeFromLegend();
}

void TrainingView::removePanels() {
    // The graphs first: deleting an axis rect deletes its axes but not the graphs on them.
    for (Run& run : m_runs) {
        if (!run.panelGraph) continue;
        m_plot->removeGraph(run.panelGraph);
        run.panelGraph = nullptr;
    }
    m_plot->plotLayout()->remove(m_panels);
    m_panels = nullptr;
    m_panelRuns.clear();
}

// The same scales wherever runs compare: the steps or seconds for all, the loss among runs of one
// family (a GAN's loss is on another scale than a VAE's bound and would lie flat beside it).
void TrainingView::fitPanelRanges() {
    QCPRange keys;
    bool anyKeys = false;
    QHash<QString, QCPRange> values;  // by family
    for (const QString& dir : std::as_const(m_panelRuns)) {
        const Run& run = m_runs[dir];
        bool hasKeys = false, hasValues = false;
        const QCPRange k = run.panelGraph->getKeyRange(hasKeys);
        const QCPRange v = run.panelGraph->getValueRange(hasValues);
        if (!hasKeys || !hasValues) continue;
        if (anyKeys)
            keys.expand(k);
        else
            keys = k;
        anyKeys = true;
        const auto it = values.find(run.record.spec.family);
        if (it == values.end())
            values.insert(run.record.spec.family, v);
        else
            it->expand(v);
    }
    for (const QString& dir : std::as_const(m_panelRuns)) {
        const Run& run = m_runs[dir];
        if (anyKeys) run.panelGraph->keyAxis()->setRange(withRoom(keys));
        const auto it = values.constFind(run.record.spec.family);
        if (it != values.constEnd()) run.panelGraph->valueAxis()->setRange(withRoom(*it));
    }
}

QJsonObject TrainingView::workspaceState(const WorkspaceContext& context) const {
    QJsonArray ticked;
    for (const QString& dir : tickedRuns()) ticked.append(context.fileRef(dir));
    const QListWidgetItem* current = m_list->currentItem();
    return {{"family", m_family->currentData().toString()},
            {"dataset", m_dataset->currentText()},
            {"latent", m_latent->value()},
            {"steps", m_steps->value()},
            {"batch", m_batch->value()},
            {"learning_rate", m_lr->value()},
            {"seed", m_seed->value()},
            {"device", m_device->currentText()},
            {"options", m_options->text()},
            {"axis", m_axis->currentData().toString()},
            {"smoothing", m_smoothing->value()},
            {"layout", m_layout->currentData().toString()},
            {"ticked_runs", ticked},
            {"selected_run",
             context.fileRef(current ? current->data(Qt::UserRole).toString() : QString())}};
}

void TrainingView::restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context) {
    auto value = [&state](const char* key) { return state.value(QLatin1String(key)); };
    restoreComboData(m_family, value("family"), context, tr("Training family"));
    if (!value("dataset").toString().isEmpty())
        m_dataset->setCurrentText(value("dataset").toString());
    restoreValue(m_latent, value("latent"));
    restoreValue(m_steps, value("steps"));
    restoreValue(m_batch, value("batch"));
    restoreValue(m_lr, value("learning_rate"));
    restoreValue(m_seed, value("seed"));
    restoreComboText(m_device, value("device"), context, tr("Training device"));
    if (value("options").isString()) m_options->setText(value("options").toString());
    restoreComboData(m_axis, value("axis"), context, tr("Training plot axis"));
    restoreValue(m_smoothing, value("smoothing"));
    restoreComboData(m_layout, value("layout"), context, tr("Training plot layout"));
    restoreRuns(state, context);
    updateButtons();
}

// The listed run a reference names: by its absolute path, else by its path from the workspace
// (the two moved together), else by its folder's name (the runs folder moved on its own).
QString TrainingView::runFor(const QJsonValue& ref, const WorkspaceContext& context) const {
    const QJsonObject object = ref.toObject();
    const QString path = object.value(QStringLiteral("path")).toString();
    const QString relative = object.value(QStringLiteral("relative")).toString();
    if (!path.isEmpty() && m_runs.contains(QFileInfo(path).absoluteFilePath()))
        return QFileInfo(path).absoluteFilePath();
    const QString name = QFileInfo(refName(ref)).fileName();
    for (const Run& run : m_runs)
        if (!relative.isEmpty() &&
            context.fileRef(run.record.dir).toObject().value(QStringLiteral("relative")) ==
                relative)
            return run.record.dir;
    for (const Run& run : m_runs)
        if (!name.isEmpty() && run.record.name == name) return run.record.dir;
    return {};
}

void TrainingView::restoreRuns(const QJsonObject& state, WorkspaceContext& context) {
    QSet<QString> warned;  // a run both ticked and selected is reported once
    auto find = [&](const QJsonValue& ref) {
        const QString dir = runFor(ref, context);
        const QString named = refName(ref);
        if (dir.isEmpty() && !named.isEmpty() && !warned.contains(named)) {
            warned.insert(named);
            context.warn(
                QFileInfo(named).isDir()
                    ? tr("Training run: %1 is not in the runs folder %2")
                          .arg(QDir::toNativeSeparators(named), QDir::toNativeSeparators(m_runsDir))
                    : tr("Training run: %1 is missing").arg(QDir::toNativeSeparators(named)));
        }
        return dir;
    };
    const QJsonValue ticked = state.value(QStringLiteral("ticked_runs"));
    if (ticked.isArray()) {
        QSet<QString> dirs;
        for (const QJsonValue& ref : ticked.toArray())
            if (const QString dir = find(ref); !dir.isEmpty()) dirs.insert(dir);
        {
            const QSignalBlocker block(m_list);  // one redraw, not one per run
            for (Run& run : m_runs)
                run.item->setCheckState(dirs.contains(run.record.dir) ? Qt::Checked
                                                                      : Qt::Unchecked);
        }
        redrawCurves();
    }
    const QString selected = find(state.value(QStringLiteral("selected_run")));
    if (!selected.isEmpty()) m_list->setCurrentItem(m_runs[selected].item);
}

TrainingSpec TrainingView::specFromForm() const {
    TrainingSpec spec;
    spec.family = m_family->currentData().toString();
    spec.dataset = m_dataset->currentText().trimmed();
    spec.latent = m_latent->value();
    spec.steps = m_steps->value();
    spec.batch = m_batch->value();
    spec.learningRate = m_lr->value();
    spec.seed = quint64(m_seed->value());
    spec.device = m_device->currentText();
    spec.options = m_options->text().trimmed();
    return spec;
}

void TrainingView::start() {
    if (isTraining()) return;
    if (m_runsDir.isEmpty()) {
        showStatus(tr("No folder for runs: start with --data-dir DIR"), true);
        return;
    }
    const TrainingSpec spec = specFromForm();
    QSettings settings;
    const QString key = QString::fromLatin1(kFormKey);
    settings.setValue(key + "family", spec.family);
    settings.setValue(key + "dataset", spec.dataset);
    settings.setValue(key + "latent", int(spec.latent));
    settings.setValue(key + "steps", int(spec.steps));
    settings.setValue(key + "batch", int(spec.batch));
    settings.setValue(key + "lr", spec.learningRate);
    settings.setValue(key + "seed", int(spec.seed));
    settings.setValue(key + "options", spec.options);

    const QString dir = m_job.begin(spec, m_runsDir);
    if (dir.isEmpty()) {
        showStatus(tr("%1: cannot create a run folder here").arg(m_runsDir), true);
        return;
    }
    m_activeRun = QFileInfo(dir).absoluteFilePath();
    RunRecord record;
    record.dir = m_activeRun;
    record.name = QFileInfo(dir).fileName();
    record.status = QStringLiteral("running");
    record.spec = spec;
    addRun(record);
    m_list->setCurrentItem(m_runs[m_activeRun].item);
    m_progress->setRange(0, int(std::min<qint64>(spec.steps, INT_MAX)));
    m_progress->setValue(0);
    m_eta->setText(tr("loading data\u2026"));
    m_snapshot->setImage({});
    showStatus(tr("Training %1 in %2").arg(spec.title(), record.name), false);
    updateButtons();
}

void TrainingView::setPaused(bool paused) {
    if (!isTraining()) return;
    m_job.setPaused(paused);
    m_pause->setText(paused ? tr("Resume") : tr("Pause"));
    showStatus(paused ? tr("Paused.") : tr("Training\u2026"), false);
}

void TrainingView::stop() {
    if (!isTraining()) return;
    m_job.stop();
    showStatus(tr("Stopping after this step\u2026"), false);
}

void TrainingView::openSelected() {
    Run* run = selectedRun();
    if (!run || run->record.checkpointPath.isEmpty()) return;
    emit checkpointAvailable(run->record.checkpointPath, true);
}

QVector<RunRecord> TrainingView::runs() const {
    QVector<RunRecord> out;
    for (const Run& run : m_runs) out.push_back(run.record);
    return out;
}

QStringList TrainingView::runCheckpoints() const {
    QStringList paths;
    for (const Run& run : m_runs)
        if (!run.record.checkpointPath.isEmpty() && run.record.dir != m_activeRun)
            paths << run.record.checkpointPath;
    return paths;
}

QString TrainingView::statusText() const {
    return m_status->text();
}

TrainingView::Run* TrainingView::selectedRun() {
    QListWidgetItem* item = m_list->currentItem();
    if (!item) return nullptr;
    auto it = m_runs.find(item->data(Qt::UserRole).toString());
    return it == m_runs.end() ? nullptr : &*it;
}

void TrainingView::showSelected() {
    Run* run = selectedRun();
    if (!run) return;
    if (run->record.dir != m_activeRun) {
        m_snapshot->setImage(run->record.snapshotPath.isEmpty() ? QImage()
                                                                : QImage(run->record.snapshotPath));
        if (!run->record.message.isEmpty())
            showStatus(run->record.message, run->record.status == QLatin1String("diverged") ||
                                                run->record.status == QLatin1String("failed"));
    }
}

void TrainingView::onProgress(const QString& runDir, qint64 step, qint64 total, double seconds,
                              const QVector<LossPoint>& points) {
    auto it = m_runs.find(QFileInfo(runDir).absoluteFilePath());
    if (it == m_runs.end()) return;
    it->record.losses += points;
    it->record.stepsDone = step;
    updateRunItem(*it);
    m_progress->setRange(0, int(std::min<qint64>(total, INT_MAX)));
    m_progress->setValue(int(step));
    const double left = step > 0 ? seconds / double(step) * double(total - step) : std::nan("");
    m_eta->setText(tr("%1 elapsed, %2 left").arg(duration(seconds), duration(left)));
    redrawCurves();
}

void TrainingView::onSnapshot(const QString& runDir, qint64 step, const cv::Mat& grid) {
    Run* run = selectedRun();
    if (!run || run->record.dir != QFileInfo(runDir).absoluteFilePath()) return;
    m_snapshot->setImage(matToQImage(grid));
    m_snapshotLabel->setText(tr("<b>Samples</b> at step %1").arg(step));
}

void TrainingView::onFinished(const QString& runDir, const QString& status, const QString& message,
                              const QString& checkpoint) {
    const QString dir = QFileInfo(runDir).absoluteFilePath();
    auto it = m_runs.find(dir);
    if (it != m_runs.end()) {
        // Re-read from disk: the log holds every step, the report only what was sent.
        try {
            it->record = readRun(dir);
        } catch (const std::exception&) {
            // keep what the reports brought
        }
        it->record.status = status;
        it->record.message = message;
        it->record.checkpointPath = checkpoint;
        updateRunItem(*it);
    }
    m_activeRun.clear();
    m_pause->setText(tr("Pause"));
    const bool bad = status == QLatin1String("diverged") || status == QLatin1String("failed");
    showStatus(bad ? tr("Run %1: %2").arg(status, message) : tr("Run %1: %2.").arg(status, message),
               bad);
    redrawCurves();
    updateButtons();
    if (!checkpoint.isEmpty()) emit checkpointAvailable(checkpoint, false);
    emit runFinished(status);
}

void TrainingView::showStatus(const QString& text, bool error) {
    m_status->setText(text);
    m_status->setStyleSheet(error ? QStringLiteral("color: #b3261e; font-weight: bold;")
                                  : QString());
}

void TrainingView::updateButtons() {
    const bool training = isTraining();
    m_start->setEnabled(!training);
    m_pause->setEnabled(training);
    m_stop->setEnabled(training);
    const QString family = m_family->currentData().toString();
    m_latent->setEnabled(familyTakesLatentSize(family));
    Run* run = selectedRun();
    m_open->setEnabled(run && !run->record.checkpointPath.isEmpty() &&
                       run->record.dir != m_activeRun);
}

}  // namespace le
