#include "ui/views/autoregressive_view.h"

#include "core/autoregressive/autoregressive_video.h"
#include "core/autoregressive/entropy_grid.h"
#include "core/data/datasets.h"
#include "core/data/image_import.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "ui/qt_image.h"
#include "ui/widgets/anchor_editor.h"
#include "ui/widgets/entropy_map_view.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/view_controls.h"
#include "ui/workspace_state.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QLabel>
#include <QListWidget>
#include <QMouseEvent>
#include <QPixmap>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QThreadPool>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

constexpr int kMaxCompletions = 6;
constexpr int kThumbnail = 56;
const char* const kLastVideoDirKey = "autoregressive/lastVideoDir";
// The start combo's choices in a workspace, by StartFrom.
const QStringList kStartKeys = {QStringLiteral("blank"), QStringLiteral("top_half"),
                                QStringLiteral("painted")};

double stepsPerSecond(int sliderValue) {
    return std::pow(10.0, sliderValue / 25.0);  // 1 .. 10 000, logarithmic
}

QString channelName(const AutoregressiveStep& step) {
    if (step.valueName != QLatin1String("value")) return step.valueName;  // a code index
    if (step.channels == 3) return QStringList{"R", "G", "B"}.value(step.channel);
    return QStringLiteral("grey");
}

}  // namespace

AutoregressiveView::AutoregressiveView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(12);
    layout->addWidget(buildControls());
    layout->addWidget(buildOutput(), 1);
    addShortcuts();

    connect(&m_session, &AutoregressiveSession::stepped, this, &AutoregressiveView::onStepped,
            Qt::QueuedConnection);
    connect(&m_session, &AutoregressiveSession::failed, this, &AutoregressiveView::onFailed,
            Qt::QueuedConnection);
    connect(&m_session, &AutoregressiveSession::stopped, this, &AutoregressiveView::onStopped,
            Qt::QueuedConnection);
    rebuildCompletionViews(1);
    updateButtons();
}

AutoregressiveView::~AutoregressiveView() {
    // The views outlive this object's members while QWidget deletes its children.
    for (ImageView* view : m_views) view->removeEventFilter(this);
}

QWidget* AutoregressiveView::buildControls() {
    auto* box = new QGroupBox(tr("Sampler"), this);
    box->setMaximumWidth(330);
    auto* form = new QFormLayout(box);

    m_model = new QComboBox(box);
    m_model->setToolTip(
        tr("A model that generates one position at a time: a PixelCNN (pixels) "
           "or a VQ-VAE (the codes of its prior)"));
    form->addRow(tr("&Model"), m_model);
    connect(m_model, &QComboBox::currentIndexChanged, this, &AutoregressiveView::onModelChanged);

    m_start = new QComboBox(box);
    m_start->addItems({tr("Blank"), tr("Top half of the image"), tr("Painted region")});
    m_start->setToolTip(
        tr("Start from nothing, or keep part of the image below (its anchors) "
           "and let the model complete the rest"));
    form->addRow(tr("S&tart from"), m_start);
    connect(m_start, &QComboBox::activated, this, [this](int index) {
        if (index == TopHalf) m_anchors->keepTopHalf();
        restart();
    });

    m_anchors = new AnchorEditor(box);
    form->addRow(m_anchors);
    connect(m_anchors, &AnchorEditor::maskEdited, this,
            [this] { m_start->setCurrentIndex(Painted); });

    auto* imageRow = new QHBoxLayout;
    m_datasetItem =
        newDatasetItemBox(box, tr("A test image of the model's dataset as the anchor image"));
    connect(m_datasetItem, &QSpinBox::valueChanged, this, &AutoregressiveView::loadDatasetItem);
    m_openImage = new QPushButton(tr("Open image\u2026"), box);
    m_openImage->setToolTip(tr("Use an image file as the anchor image"));
    connect(m_openImage, &QPushButton::clicked, this, &AutoregressiveView::chooseImageFile);
    imageRow->addWidget(m_datasetItem, 1);
    imageRow->addWidget(m_openImage);
    form->addRow(tr("Image"), imageRow);

    m_completions = new QSpinBox(box);
    m_completions->setRange(1, kMaxCompletions);
    m_completions->setValue(3);
    m_completions->setToolTip(tr("Completions side by side; completion i uses seed + i"));
    form->addRow(tr("&Completions"), m_completions);

    m_temperature = new QDoubleSpinBox(box);
    m_temperature->setRange(0.05, 5.0);
    m_temperature->setSingleStep(0.05);
    m_temperature->setValue(1.0);
    m_temperature->setToolTip(
        tr("Softmax temperature: below 1 sharper and safer, above 1 wilder "
           "(applies from the next restart)"));
    form->addRow(tr("T&emperature"), m_temperature);

    m_seed = new QSpinBox(box);
    m_seed->setRange(0, 1000000);
    m_seed->setValue(1);
    m_seed->setToolTip(tr("The seed of the first completion (applies from the next restart)"));
    form->addRow(tr("S&eed"), m_seed);

    auto* speedRow = new QHBoxLayout;
    m_speed = new QSlider(Qt::Horizontal, box);
    m_speed->setRange(0, 100);
    m_speed->setValue(40);
    m_speed->setToolTip(tr("Steps per second while playing (logarithmic)"));
    m_speedLabel = new QLabel(box);
    m_speedLabel->setMinimumWidth(64);
    speedRow->addWidget(m_speed, 1);
    speedRow->addWidget(m_speedLabel);
    // A layout gets no buddy from addRow, so the label is made here for its Alt+P mnemonic.
    auto* speedTitle = new QLabel(tr("S&peed"), box);
    speedTitle->setBuddy(m_speed);
    form->addRow(speedTitle, speedRow);
    connect(m_speed, &QSlider::valueChanged, this, &AutoregressiveView::updateSpeed);
    updateSpeed();

    m_restart = new QPushButton(tr("Restart"), box);
    m_restart->setToolTip(tr("Start again with these settings (Ctrl+R)"));
    connect(m_restart, &QPushButton::clicked, this, &AutoregressiveView::restart);
    m_play = new QPushButton(tr("Play"), box);
    m_play->setToolTip(tr("Play or pause (Space)"));
    connect(m_play, &QPushButton::clicked, this, &AutoregressiveView::togglePlay);
    m_step = new QPushButton(tr("Step"), box);
    m_step->setToolTip(tr("Sample one position (Right arrow)"));
    connect(m_step, &QPushButton::clicked, this, [this] {
        m_error.clear();
        m_session.stepOnce();
    });
    m_stepRow = new QPushButton(tr("Step row"), box);
    m_stepRow->setToolTip(tr("Sample to the end of the current row (Down arrow)"));
    connect(m_stepRow, &QPushButton::clicked, this, [this] { m_session.stepRow(); });
    m_run = new QPushButton(tr("Run to end"), box);
    m_run->setToolTip(tr("Sample every remaining position as fast as possible (End)"));
    connect(m_run, &QPushButton::clicked, this, [this] {
        m_playing = true;
        m_session.runToEnd();
        updateButtons();
    });
    auto* buttons = new QGridLayout;
    buttons->addWidget(m_restart, 0, 0);
    buttons->addWidget(m_play, 0, 1);
    buttons->addWidget(m_run, 0, 2);
    buttons->addWidget(m_step, 1, 0);
    buttons->addWidget(m_stepRow, 1, 1);
    form->addRow(buttons);

    auto* progressRow = new QHBoxLayout;
    m_progress = new QProgressBar(box);
    m_progress->setToolTip(tr("Positions filled"));
    m_progress->setFormat(tr("%v / %m"));
    m_stop = new QPushButton(tr("Stop"), box);
    m_stop->setToolTip(tr("Stop playing or running (Esc); the positions filled so far stay"));
    connect(m_stop, &QPushButton::clicked, this, [this] { m_session.pause(); });
    progressRow->addWidget(m_progress, 1);
    progressRow->addWidget(m_stop);
    form->addRow(progressRow);
    return box;
}

QWidget* AutoregressiveView::buildOutput() {
    auto* panel = new QWidget(this);
    auto* column = new QVBoxLayout(panel);
    column->setContentsMargins(0, 0, 0, 0);
    auto* imagesRow = new QHBoxLayout;
    m_viewRow = new QHBoxLayout;
    imagesRow->addLayout(m_viewRow, 2);
    auto* entropyColumn = new QVBoxLayout;
    m_entropy = new EntropyMapView(panel);
    m_entropyLabel = new QLabel(tr("Entropy: hover a cell"), panel);
    m_entropyLabel->setToolTip(
        tr("The entropy of the position under the mouse, on the heat map or the images"));
    m_entropyLabel->setMinimumWidth(150);
    entropyColumn->addWidget(m_entropy, 1);
    entropyColumn->addWidget(m_entropyLabel);
    imagesRow->addLayout(entropyColumn, 1);
    column->addLayout(imagesRow, 3);
    connect(m_entropy, &EntropyMapView::cellHovered, this, &AutoregressiveView::showCellInfo);
    connect(m_entropy, &EntropyMapView::cellClicked, this, &AutoregressiveView::cellClicked);

    m_positionLabel = new QLabel(tr("Choose a PixelCNN or VQ-VAE model"), panel);
    m_positionLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    column->addWidget(m_positionLabel);
    column->addWidget(buildBranches());

    m_plot = new QCustomPlot(panel);
    m_plot->setMinimumHeight(150);
    m_plot->setToolTip(
        tr("The model's predicted distribution at the outlined position; the "
           "sampled value in red"));
    m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_bars->setName(tr("p(value)"));
    m_bars->setPen(Qt::NoPen);
    m_bars->setBrush(QColor(0x4E, 0x79, 0xA7));
    m_bars->setWidth(1.0);
    m_sampledBar = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_sampledBar->setName(tr("sampled"));
    m_sampledBar->setPen(Qt::NoPen);
    m_sampledBar->setBrush(QColor(0xE1, 0x57, 0x59));
    m_sampledBar->setWidth(1.0);
    m_plot->xAxis->setLabel(tr("value"));
    setIntegerTicks(m_plot->xAxis);
    m_plot->yAxis->setLabel(tr("probability"));
    // The legend gets a column right of the axis rect: inside it, it hid the bars at the top end.
    // A filler below it keeps the legend at its own height, at the top of that column.
    auto* legendColumn = new QCPLayoutGrid;
    m_plot->plotLayout()->addElement(0, 1, legendColumn);
    m_plot->plotLayout()->setColumnStretchFactor(1, 0.001);
    legendColumn->setMargins(QMargins(0, 8, 8, 0));
    legendColumn->addElement(0, 0, m_plot->legend);
    legendColumn->addElement(1, 0, new QCPLayoutElement(m_plot));
    legendColumn->setRowStretchFactor(0, 0.001);
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setVisible(true);
    column->addWidget(m_plot, 2);
    return panel;
}

QWidget* AutoregressiveView::buildBranches() {
    auto* box = new QGroupBox(tr("Rewind and branch"), this);
    auto* column = new QVBoxLayout(box);
    column->setContentsMargins(6, 4, 6, 4);
    auto* row = new QHBoxLayout;
    m_rewind = new QSlider(Qt::Horizontal, box);
    m_rewind->setRange(0, 0);
    m_rewind->setToolTip(
        tr("How many positions to keep: move it back, then resample the rest from the outlined "
           "position (or click a position on an image or the heat map)"));
    connect(m_rewind, &QSlider::valueChanged, this, [this](int value) {
        m_rewindAtPresent = value >= m_rewind->maximum();
        updateRewind();
        updateButtons();
        showHighlight();
    });
    m_rewindLabel = new QLabel(box);
    m_rewindLabel->setMinimumWidth(170);
    m_resample = new QPushButton(tr("Resample from here"), box);
    m_resample->setToolTip(
        tr("Keep the positions before the slider and sample the rest again with the seed and "
           "temperature on the left, as a new branch; the current one stays listed (Ctrl+B)"));
    connect(m_resample, &QPushButton::clicked, this, [this] { rewindTo(m_rewind->value()); });
    m_stepBack = new QPushButton(tr("Step back"), box);
    m_stepBack->setToolTip(
        tr("Rewind one position and resample from there, as a new branch (Ctrl+Z)"));
    connect(m_stepBack, &QPushButton::clicked, this, &AutoregressiveView::stepBack);
    m_exportVideo = new QPushButton(tr("Export video\u2026"), box);
    m_exportVideo->setToolTip(
        tr("Write the current branch's generation as an MP4 video: the images and the entropy "
           "heat map side by side, a few seconds long (Ctrl+Shift+E)"));
    connect(m_exportVideo, &QPushButton::clicked, this, &AutoregressiveView::chooseVideoFile);
    row->addWidget(new QLabel(tr("Keep"), box));
    row->addWidget(m_rewind, 1);
    row->addWidget(m_rewindLabel);
    row->addWidget(m_resample);
    row->addWidget(m_stepBack);
    row->addWidget(m_exportVideo);
    column->addLayout(row);

    m_branchStrip = new QListWidget(box);
    m_branchStrip->setViewMode(QListView::IconMode);
    m_branchStrip->setFlow(QListView::LeftToRight);
    m_branchStrip->setWrapping(false);
    m_branchStrip->setMovement(QListView::Static);
    m_branchStrip->setResizeMode(QListView::Adjust);
    m_branchStrip->setIconSize(QSize(kThumbnail, kThumbnail));
    m_branchStrip->setGridSize(QSize(kThumbnail + 44, kThumbnail + 34));
    m_branchStrip->setFixedHeight(kThumbnail + 56);
    m_branchStrip->setSelectionMode(QAbstractItemView::SingleSelection);
    m_branchStrip->setToolTip(
        tr("Every branch of this run: where it was forked and with which seed. The current one "
           "is highlighted; click another to continue it (Alt+Left, Alt+Right)"));
    connect(m_branchStrip, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0) showBranch(row);
    });
    column->addWidget(m_branchStrip);
    return box;
}

void AutoregressiveView::addShortcuts() {
    auto add = [this](const QKeySequence& keys, auto slot) { addViewShortcut(this, keys, slot); };
    add(QKeySequence(Qt::CTRL | Qt::Key_R), [this] { m_restart->click(); });
    add(QKeySequence(Qt::Key_Space), [this] { m_play->click(); });
    add(QKeySequence(Qt::Key_Right), [this] { m_step->click(); });
    add(QKeySequence(Qt::Key_Down), [this] { m_stepRow->click(); });
    add(QKeySequence(Qt::Key_End), [this] { m_run->click(); });
    add(QKeySequence(Qt::Key_Escape), [this] { m_stop->click(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_Z), [this] { m_stepBack->click(); });
    add(QKeySequence(Qt::CTRL | Qt::Key_B), [this] { m_resample->click(); });
    add(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E), [this] { m_exportVideo->click(); });
    add(QKeySequence(Qt::ALT | Qt::Key_Left), [this] {
        if (currentBranchIndex() > 0) showBranch(currentBranchIndex() - 1);
    });
    add(QKeySequence(Qt::ALT | Qt::Key_Right), [this] {
        if (currentBranchIndex() + 1 < branchCount()) showBranch(currentBranchIndex() + 1);
    });
}

void AutoregressiveView::setCheckpoints(const QVector<CatalogEntry>& entries) {
    const QString current = m_model->currentData().toString();
    m_entries.clear();
    for (const CatalogEntry& e : entries)
        if (e.capabilities.autoregressive) m_entries.push_back(e);
    QSignalBlocker block(m_model);
    m_model->clear();
    for (const CatalogEntry& e : m_entries) m_model->addItem(e.title(true), e.path);
    const int keep = m_model->findData(current);
    m_model->setCurrentIndex(keep >= 0 ? keep : 0);
    if (keep < 0 && !m_entries.isEmpty()) onModelChanged();
    if (m_entries.isEmpty())
        m_positionLabel->setText(
            tr("No PixelCNN or VQ-VAE checkpoint is loaded: open one with "
               "File \u203a Open checkpoint\u2026"));
    updateButtons();
}

int AutoregressiveView::modelCount() const {
    return m_entries.size();
}

void AutoregressiveView::selectModel(const QString& checkpointPath) {
    const int index = m_model->findData(QFileInfo(checkpointPath).absoluteFilePath());
    if (index >= 0) m_model->setCurrentIndex(index);
}

const CatalogEntry* AutoregressiveView::currentEntry() const {
    const int index = m_model->currentIndex();
    return index >= 0 && index < m_entries.size() ? &m_entries[index] : nullptr;
}

void AutoregressiveView::onModelChanged() {
    loadDatasetItem(m_datasetItem->value());
    restart();
}

void AutoregressiveView::setStartFrom(StartFrom start) {
    m_start->setCurrentIndex(start);
    if (start == TopHalf) m_anchors->keepTopHalf();
}

void AutoregressiveView::setAnchorImage(const cv::Mat& image) {
    ++m_datasetRequest;  // the latest choice wins over a dataset item still loading
    const CatalogEntry* entry = currentEntry();
    m_anchors->setImage(entry ? fitMatToShape(image, entry->shape) : image);
}

void AutoregressiveView::loadDatasetItem(int index) {
    const CatalogEntry* entry = currentEntry();
    if (!entry) return;
    const QString dataset = entry->dataset;
    const ImageShape shape = entry->shape;
    const int request = ++m_datasetRequest;
    QPointer<AutoregressiveView> self(this);
    // The first request loads the test split (a second for the faces): off the GUI thread.
    QThreadPool::globalInstance()->start([self, dataset, shape, index, request] {
        cv::Mat image;
        QString error;
        try {
            image = fitMatToShape(DatasetCache::instance().item(dataset, index), shape);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        // Back on the GUI thread, where the pointer can be checked safely.
        QMetaObject::invokeMethod(qApp, [self, image, error, request] {
            if (!self || request != self->m_datasetRequest) return;
            if (!error.isEmpty()) {
                self->m_positionLabel->setText(error);
                return;
            }
            self->m_anchors->setImage(image);
            if (self->m_start->currentIndex() != Blank) self->restart();
        });
    });
}

void AutoregressiveView::chooseImageFile() {
    const QString path = askForImageFile(this, tr("Open anchor image"),
                                         QStringLiteral("autoregressive/lastImageDir"));
    if (path.isEmpty()) return;
    QSettings().setValue("autoregressive/lastImageDir", QFileInfo(path).absolutePath());
    try {
        setAnchorImage(readImageFile(path));
        if (m_start->currentIndex() == Blank) setStartFrom(TopHalf);
        restart();
    } catch (const std::exception& e) {
        m_error = QString::fromUtf8(e.what());
        m_positionLabel->setText(m_error);
    }
}

void AutoregressiveView::restart() {
    if (currentEntry()) startRun(setupFromControls());
}

// The model, start, completions, temperature and seed of the controls; the caller checks that
// there is a model.
AutoregressiveSetup AutoregressiveView::setupFromControls() const {
    AutoregressiveSetup setup;
    setup.checkpointPath = currentEntry()->path;
    setup.temperature = m_temperature->value();
    setup.seed = quint64(m_seed->value());
    setup.completions = m_completions->value();
    if (m_start->currentIndex() != Blank && !m_anchors->image().empty()) {
        setup.anchorImage = m_anchors->image();
        setup.anchorMask = m_anchors->mask();
    }
    return setup;
}

// Restarts the session on `setup` and forgets every branch; the run's start is listed.
void AutoregressiveView::startRun(AutoregressiveSetup setup) {
    // Copies of their own: the editor paints into its mask while the session reads these.
    setup.anchorImage = setup.anchorImage.clone();
    setup.anchorMask = setup.anchorMask.clone();
    m_runSetup = setup;
    m_error.clear();
    m_playing = false;
    m_generation = m_session.restart(setup);
    m_runId = m_generation;
    m_history.clear();
    {
        QSignalBlocker block(m_branchStrip);
        m_branchStrip->clear();
    }
    BranchRecord root;
    root.id = m_runId;
    root.seed = setup.seed;
    root.temperature = setup.temperature;
    addBranch(root);
    rebuildCompletionViews(setup.completions);
    updateSpeed();
    updateButtons();
}

void AutoregressiveView::rebuildCompletionViews(int count) {
    while (m_views.size() > count) delete m_views.takeLast();
    while (m_views.size() < count) {
        auto* view = new ImageView(this);
        view->setMinimumSize(120, 120);
        view->setPlaceholderText(tr("Loading\u2026"));
        view->setToolTip(tr("Completion %1; the outline marks the position being sampled. Hover "
                            "a position for its entropy; click one to resample from there.")
                             .arg(m_views.size() + 1));
        view->setMouseTracking(true);
        view->setCursor(Qt::PointingHandCursor);
        view->installEventFilter(this);
        m_viewRow->addWidget(view);
        m_views.push_back(view);
    }
}

void AutoregressiveView::togglePlay() {
    if (m_playing) {
        m_session.pause();
        m_playing = false;
    } else {
        if (m_last.done) return;
        m_session.play();
        m_playing = true;
    }
    updateButtons();
}

void AutoregressiveView::updateSpeed() {
    const double sps = stepsPerSecond(m_speed->value());
    m_speedLabel->setText(tr("%1/s").arg(sps < 10 ? QString::number(sps, 'f', 1)
                                                  : QString::number(std::lround(sps))));
    m_session.setStepsPerSecond(sps);
}

void AutoregressiveView::onStepped(const AutoregressiveStep& step) {
    // Every branch keeps its latest state and its video frames, shown or not.
    if (m_history.record(step)) updateBranchItem(m_history.indexOf(step.branch));
    if (step.generation != m_generation) return;  // from before a restart, branch or switch
    display(step);
    emit stepShown();
}

void AutoregressiveView::display(const AutoregressiveStep& step) {
    m_last = step;
    for (int i = 0; i < m_views.size() && i < step.images.size(); ++i) {
        m_views[i]->setImage(matToQImage(step.images[i]));
        m_views[i]->setOverlayText({});
    }
    m_progress->setRange(0, int(step.totalSteps));
    m_progress->setValue(int(step.stepsDone));
    showDistribution(step);
    updateRewind();
    updateButtons();
    showHighlight();
}

std::vector<CellGrid> AutoregressiveView::lastGrids() const {
    return gridsOrWhole(m_last.grids, m_last.gridWidth, m_last.gridHeight);
}

CellGrid AutoregressiveView::shownGrid() const {
    const std::vector<CellGrid> grids = lastGrids();
    return grids[std::min(m_shownGrid, grids.size() - 1)];
}

// The entropy map shows the grid of the cell in focus (a VQ-VAE-2's top grid while it fills or
// is rewound into, then its bottom grid), and the cell is outlined there and on the images.
void AutoregressiveView::showHighlight() {
    const AutoregressiveStep& step = m_last;
    const std::vector<CellGrid> grids = lastGrids();
    qint64 focus = -1;  // a cell of the packed grid
    if (m_rewind->isEnabled() && m_rewind->value() < m_rewind->maximum()) {
        focus = m_rewind->value();  // previewing a rewind: the first position to resample
    } else if (step.position >= 0 && !step.done) {
        focus = qint64(step.row) * step.gridWidth + step.col;
    }
    m_shownGrid = gridOf(grids, focus >= 0 ? focus : lastFilledCell(step.stepsDone, step.channels));
    const CellGrid& shown = grids[m_shownGrid];
    m_entropy->setGrid(makeEntropyGrid(step.entropyBits, step.stepsDone, shown, step.channels));
    QRect cells, pixels;
    if (shown.contains(focus)) {
        const qint64 local = focus - shown.start;
        cells = QRect(int(local % shown.width), int(local / shown.width), 1, 1);
        if (!step.images.isEmpty())
            pixels = cellPixels(shown, focus, step.images.front().cols, step.images.front().rows);
    }
    m_entropy->setHighlight(cells);
    for (ImageView* view : m_views) view->setHighlight(pixels);
}

void AutoregressiveView::showDistribution(const AutoregressiveStep& step) {
    QVector<double> keys, values;
    for (size_t i = 0; i < step.distribution.size(); ++i) {
        keys << double(i);
        values << step.distribution[i];
    }
    m_bars->setData(keys, values, true);
    if (step.position >= 0 && !step.distribution.empty() && step.value >= 0 &&
        size_t(step.value) < step.distribution.size())
        m_sampledBar->setData({double(step.value)}, {double(step.distribution[step.value])}, true);
    else
        m_sampledBar->data()->clear();
    const int levels = step.distribution.empty() ? 256 : int(step.distribution.size());
    m_plot->xAxis->setRange(-0.5, levels - 0.5);
    double top = 0;
    for (double v : values) top = std::max(top, v);
    m_plot->yAxis->setRange(0, top > 0 ? top * 1.1 : 1.0);
    m_plot->xAxis->setLabel(step.valueName);
    m_plot->replot(QCustomPlot::rpQueuedReplot);

    QString text;
    if (step.position < 0) {
        text = tr("%1 positions to fill (%2 \u00d7 %3%4). Play, step, or run to the end.")
                   .arg(step.totalSteps)
                   .arg(step.gridHeight)
                   .arg(step.gridWidth)
                   .arg(step.valueName == QLatin1String("value") ? QString()
                                                                 : " " + step.valueName + "s");
    } else {
        text = tr("Position %1 of %2: %3, %4 = %5%6 \u00b7 %7 ms per step")
                   .arg(step.position + 1)
                   .arg(step.totalSteps)
                   .arg(cellName(gridsOrWhole(step.grids, step.gridWidth, step.gridHeight),
                                 qint64(step.row) * step.gridWidth + step.col))
                   .arg(channelName(step))
                   .arg(step.value)
                   .arg(step.anchored ? tr(" (anchored)") : QString())
                   .arg(QString::number(step.msPerStep, 'f', 1));
        if (step.done) text += tr(" \u2014 done");
    }
    m_positionLabel->setText(text);
}

void AutoregressiveView::onFailed(quint64 generation, const QString& message) {
    if (generation == m_runId) {
        // The run could not start (or its first branch failed before any switch): nothing of it
        // is left to branch from or to switch to, and the failures that follow are stale.
        std::vector<quint64> others;
        for (int i = 0; i < m_history.size(); ++i)
            if (m_history.at(i).id != m_runId) others.push_back(m_history.at(i).id);
        for (quint64 id : others) removeBranch(id);
        m_history.keepOnly(m_runId);
        m_generation = m_runId;
        showRunFailure(message);
    } else if (m_history.find(generation)) {
        dropFailedBranch(generation, message);
    } else if (generation == m_generation) {
        showRunFailure(message);
    }
}

// A branch that could not be made (or went wrong while sampling): unlisted; when it was the
// current one, back to where it came from, the run intact.
void AutoregressiveView::dropFailedBranch(quint64 id, const QString& message) {
    const quint64 parent = m_history.find(id)->parent;
    const bool wasCurrent = id == m_history.currentId();
    removeBranch(id);
    m_positionLabel->setText(message);
    if (wasCurrent) {
        m_playing = false;
        // A restored chain can lose its source too: then the first branch listed.
        const BranchRecord* home = m_history.find(parent);
        if (!home && m_history.size() > 0) home = &m_history.at(0);
        if (home) {
            m_history.setCurrent(home->id);
            m_rewindAtPresent = true;
            m_generation = m_session.switchTo(home->id);
            selectBranchItem();
        }
    }
    updateButtons();
}

void AutoregressiveView::showRunFailure(const QString& message) {
    m_error = message;
    m_playing = false;
    m_positionLabel->setText(message);
    for (ImageView* view : m_views) view->setOverlayText(message);
    updateButtons();
    emit samplingFailed(message);
}

void AutoregressiveView::onStopped() {
    m_playing = false;
    updateButtons();
}

void AutoregressiveView::updateButtons() {
    const bool ready = currentEntry() != nullptr && m_error.isEmpty();
    const bool canStep = ready && m_last.generation == m_generation && !m_last.done;
    m_play->setText(m_playing ? tr("Pause") : tr("Play"));
    m_play->setEnabled(m_playing || canStep);
    m_step->setEnabled(canStep && !m_playing);
    m_stepRow->setEnabled(canStep && !m_playing);
    m_run->setEnabled(canStep && !m_playing);
    m_stop->setEnabled(m_playing);
    m_restart->setEnabled(currentEntry() != nullptr);
    const BranchRecord* current = m_history.current();
    const bool canRewind = ready && !m_playing && current && m_last.generation == m_generation;
    m_rewind->setEnabled(canRewind && m_history.rewindSource());
    m_resample->setEnabled(m_rewind->isEnabled() &&
                           m_rewind->value() < m_last.gridWidth * qint64(m_last.gridHeight));
    const bool fresh = current && BranchHistory::isFresh(*current);
    m_stepBack->setEnabled(canRewind && current &&
                           (fresh ? current->forkCells : BranchHistory::filledCells(*current)) > 0);
    m_exportVideo->setEnabled(!m_exporting && current && !current->frames.empty());
    m_branchStrip->setEnabled(ready);
}

// ---- branches --------------------------------------------------------------------------------

int AutoregressiveView::currentBranchIndex() const {
    return m_history.currentIndex();
}

int AutoregressiveView::branchCount() const {
    return m_history.size();
}

QImage AutoregressiveView::branchImage(int index) const {
    if (index < 0 || index >= branchCount() || m_history.at(index).last.images.isEmpty()) return {};
    return matToQImage(m_history.at(index).last.images.front());
}

qint64 AutoregressiveView::branchForkCells(int index) const {
    return index >= 0 && index < branchCount() ? m_history.at(index).forkCells : -1;
}

quint64 AutoregressiveView::branchSeed(int index) const {
    return index >= 0 && index < branchCount() ? m_history.at(index).seed : 0;
}

qint64 AutoregressiveView::branchStepsDone(int index) const {
    return index >= 0 && index < branchCount() ? m_history.at(index).last.stepsDone : -1;
}

void AutoregressiveView::addBranch(const BranchRecord& branch) {
    listBranch(branch);
    dropOldBranches();
}

// Appends the branch to the strip and makes it current.
void AutoregressiveView::listBranch(const BranchRecord& branch) {
    m_history.add(branch);
    {
        QSignalBlocker block(m_branchStrip);
        m_branchStrip->addItem(new QListWidgetItem);
    }
    updateBranchItem(m_history.size() - 1);
    selectBranchItem();
    m_rewindAtPresent = true;
}

// Bounded: the history names the oldest branches to drop; their samplers go with them.
void AutoregressiveView::dropOldBranches() {
    for (quint64 id : m_history.overflow()) {
        m_session.forget(id);
        removeStripItem(m_history.drop(id));
    }
}

void AutoregressiveView::removeBranch(quint64 id) {
    removeStripItem(m_history.remove(id));
}

void AutoregressiveView::removeStripItem(int index) {
    if (index < 0) return;
    {
        QSignalBlocker block(m_branchStrip);
        delete m_branchStrip->takeItem(index);
    }
    selectBranchItem();
}

void AutoregressiveView::updateBranchItem(int index) {
    QListWidgetItem* item = m_branchStrip->item(index);
    if (!item || index >= m_history.size()) return;
    const BranchRecord& branch = m_history.at(index);
    const QString fork = branch.parent == 0 ? tr("start") : tr("@%1").arg(branch.forkCells);
    item->setText(tr("%1 \u00b7 seed %2").arg(fork).arg(branch.seed));
    const qint64 total = branch.last.totalSteps;
    const int parent = m_history.indexOf(branch.parent);
    QString tip = branch.parent == 0
                      ? tr("Branch %1: the run from the start").arg(index + 1)
                      : tr("Branch %1: forked from branch %2 keeping %3 positions")
                            .arg(index + 1)
                            .arg(parent >= 0 ? QString::number(parent + 1) : tr("(dropped)"))
                            .arg(branch.forkCells);
    tip += tr("; seed %1, temperature %2; %3 of %4 steps done")
               .arg(branch.seed)
               .arg(branch.temperature, 0, 'f', 2)
               .arg(branch.last.stepsDone)
               .arg(total);
    item->setToolTip(tip);
    item->setData(Qt::UserRole, branch.id);
    if (!branch.last.images.isEmpty()) {
        const QImage image = matToQImage(branch.last.images.front());
        item->setIcon(QIcon(QPixmap::fromImage(
            image.scaled(kThumbnail, kThumbnail, Qt::KeepAspectRatio, Qt::FastTransformation))));
    }
}

void AutoregressiveView::selectBranchItem() {
    QSignalBlocker block(m_branchStrip);
    m_branchStrip->setCurrentRow(currentBranchIndex());
}

void AutoregressiveView::showBranch(int index) {
    if (index < 0 || index >= branchCount()) return;
    const BranchRecord& branch = m_history.at(index);
    if (branch.id == m_history.currentId()) {
        selectBranchItem();
        return;
    }
    m_playing = false;
    m_history.setCurrent(branch.id);
    m_rewindAtPresent = true;
    m_generation = m_session.switchTo(branch.id);
    selectBranchItem();
    // What it looked like when it was left; the session's report follows at once.
    if (branch.last.branch == branch.id) display(branch.last);
    updateButtons();
}

bool AutoregressiveView::rewindTo(qint64 cells) {
    const BranchRecord* current = m_history.current();
    const BranchRecord* source = m_history.rewindSource();
    if (!current || !source || m_last.gridWidth <= 0) return false;
    const qint64 total = qint64(m_last.gridWidth) * m_last.gridHeight;
    const qint64 filled = BranchHistory::filledCells(*source);
    if (cells < 0 || cells > filled || cells >= total) {
        m_positionLabel->setText(tr("Only a filled position can be resampled: %1 of %2 are filled")
                                     .arg(filled)
                                     .arg(total));
        return false;
    }
    // A branch with nothing of its own yet is moved rather than kept.
    const quint64 replaced = BranchHistory::isFresh(*current) ? current->id : 0;
    BranchRecord branch;
    branch.parent = source->id;
    branch.forkCells = cells;
    branch.temperature = m_temperature->value();
    // The same fork with the same seed and temperature would repeat a branch: move the seed on.
    branch.seed = m_history.freeSeed(branch.parent, cells, quint64(m_seed->value()),
                                     branch.temperature, replaced);
    if (branch.seed != quint64(m_seed->value())) {
        QSignalBlocker block(m_seed);
        m_seed->setValue(int(std::min<quint64>(branch.seed, quint64(m_seed->maximum()))));
    }
    m_error.clear();
    m_generation = m_session.branch(source->id, cells, branch.seed, branch.temperature);
    branch.id = m_generation;
    if (replaced) {
        m_session.forget(replaced);  // after the branch job has taken it off the current slot
        removeBranch(replaced);
    }
    addBranch(branch);
    m_playing = cells > 0;  // replaying the kept positions; Stop cancels it
    m_positionLabel->setText(cells > 0 ? tr("Replaying the %1 kept positions\u2026").arg(cells)
                                       : tr("Resampling from the start"));
    updateButtons();
    return true;
}

void AutoregressiveView::stepBack() {
    const BranchRecord* current = m_history.current();
    if (!current) return;
    const qint64 at = BranchHistory::isFresh(*current) ? current->forkCells
                                                       : BranchHistory::filledCells(*current);
    if (at > 0) rewindTo(at - 1);
}

void AutoregressiveView::updateRewind() {
    const BranchRecord* source = m_history.rewindSource();
    const qint64 total = qint64(m_last.gridWidth) * m_last.gridHeight;
    const int maximum =
        source ? int(std::min(BranchHistory::filledCells(*source), std::max<qint64>(0, total - 1)))
               : 0;
    {
        QSignalBlocker block(m_rewind);
        // At the present it follows the run; moved back it stays where the user put it.
        m_rewind->setRange(0, maximum);
        if (m_rewindAtPresent) m_rewind->setValue(maximum);
    }
    const int keep = m_rewind->value();
    if (m_last.gridWidth <= 0) {
        m_rewindLabel->clear();
    } else {
        m_rewindLabel->setText(
            tr("%1 of %2 \u00b7 %3").arg(keep).arg(total).arg(cellName(lastGrids(), keep)));
    }
}

void AutoregressiveView::showCellInfo(int row, int col) {
    if (row < 0 || col < 0) {
        m_entropyLabel->setText(tr("Entropy: hover a cell"));
        return;
    }
    m_entropyLabel->setText(m_entropy->describeCell(row, col));
}

void AutoregressiveView::cellClicked(int row, int col) {
    if (m_last.gridWidth <= 0 || !m_rewind->isEnabled()) return;
    // row, col: in the grid the entropy map shows.
    const CellGrid shown = shownGrid();
    const qint64 cell = shown.start + qint64(row) * shown.width + col;
    if (cell <= m_rewind->maximum()) m_rewind->setValue(int(cell));
    rewindTo(cell);
}

bool AutoregressiveView::eventFilter(QObject* watched, QEvent* event) {
    auto* view = qobject_cast<ImageView*>(watched);
    if (!view || !m_views.contains(view) || m_last.gridWidth <= 0)
        return QWidget::eventFilter(watched, event);
    const bool press = event->type() == QEvent::MouseButtonPress;
    if (press || event->type() == QEvent::MouseMove) {
        auto* mouse = static_cast<QMouseEvent*>(event);
        const QRect target = view->imageRect();
        const QImage& image = view->image();
        int row = -1, col = -1;
        if (!image.isNull() && target.contains(mouse->position().toPoint())) {
            const int x =
                int((mouse->position().x() - target.left()) * image.width() / target.width());
            const int y =
                int((mouse->position().y() - target.top()) * image.height() / target.height());
            // The cell of the grid the entropy map shows.
            const CellGrid shown = shownGrid();
            col = std::clamp(x * shown.width / image.width(), 0, shown.width - 1);
            row = std::clamp(y * shown.height / image.height(), 0, shown.height - 1);
        }
        showCellInfo(row, col);
        if (press && mouse->button() == Qt::LeftButton && row >= 0) cellClicked(row, col);
    } else if (event->type() == QEvent::Leave) {
        showCellInfo(-1, -1);
    }
    return QWidget::eventFilter(watched, event);
}

// ---- workspace -------------------------------------------------------------------------------

QJsonObject AutoregressiveView::workspaceState(const WorkspaceContext& context) const {
    const CatalogEntry* entry = currentEntry();
    QJsonObject state{
        {"model", entry ? context.fileRef(entry->path) : QJsonValue(QJsonValue::Null)},
        {"start", kStartKeys.value(m_start->currentIndex())},
        {"dataset_item", m_datasetItem->value()},
        {"anchor_image", WorkspaceContext::imageToJson(m_anchors->image())},
        {"anchor_mask", WorkspaceContext::imageToJson(m_anchors->mask())},
        {"completions", m_completions->value()},
        {"temperature", m_temperature->value()},
        {"seed", m_seed->value()},
        {"speed", m_speed->value()},
    };
    if (entry && m_error.isEmpty() && m_history.size() > 0) state.insert("run", runState());
    return state;
}

// The run as it was started (its anchors can differ from the editor's, painted since) and its
// branches in the order they were made, with the dropped ones a listed branch comes from.
QJsonObject AutoregressiveView::runState() const {
    const std::vector<const BranchRecord*> all = m_history.inOrderMade();
    auto indexOf = [&](quint64 id) {
        const auto it = std::find_if(all.begin(), all.end(),
                                     [id](const BranchRecord* b) { return b->id == id; });
        return it == all.end() ? -1 : int(it - all.begin());
    };
    QJsonArray branches;
    for (const BranchRecord* b : all) {
        QJsonObject saved{
            {"parent", indexOf(b->parent)},    {"fork_cells", b->forkCells},
            {"seed", qint64(b->seed)},         {"temperature", b->temperature},
            {"steps_done", b->last.stepsDone},
        };
        if (m_history.findDropped(b->id)) saved.insert("dropped", true);
        branches.append(saved);
    }
    return QJsonObject{
        {"completions", m_runSetup.completions},
        {"anchor_image", WorkspaceContext::imageToJson(m_runSetup.anchorImage)},
        {"anchor_mask", WorkspaceContext::imageToJson(m_runSetup.anchorMask)},
        {"branches", branches},
        {"current", indexOf(m_history.currentId())},
    };
}

void AutoregressiveView::restoreWorkspaceState(const QJsonObject& state,
                                               WorkspaceContext& context) {
    ++m_datasetRequest;  // a dataset item still loading must not replace the restored image
    const bool haveModel = restoreModel(state.value("model"), context);
    restoreControls(state, context);
    if (!haveModel) {  // the run and its images belong to that model: the current run stays
        updateButtons();
        return;
    }
    restoreAnchors(state, context);
    restoreRun(state.value("run").toObject(), context);
}

// Selects the workspace's model without starting a run on it (the restore starts its own).
bool AutoregressiveView::restoreModel(const QJsonValue& ref, WorkspaceContext& context) {
    const QString what = tr("Autoregressive model");
    const QString path = context.resolveFile(ref, what);
    if (path.isEmpty()) return false;
    QSignalBlocker block(m_model);
    return restoreComboData(m_model, QFileInfo(path).absoluteFilePath(), context, what);
}

void AutoregressiveView::restoreControls(const QJsonObject& state, WorkspaceContext& context) {
    const QJsonValue start = state.value("start");
    if (start.isString()) {
        const int index = kStartKeys.indexOf(start.toString());
        if (index >= 0)
            m_start->setCurrentIndex(index);  // not `activated`: no restart, no mask change
        else
            context.warn(
                tr("Autoregressive start \"%1\" is not on offer here").arg(start.toString()));
    }
    restoreValue(m_completions, state.value("completions"));
    restoreValue(m_temperature, state.value("temperature"));
    restoreValue(m_seed, state.value("seed"));
    {
        QSignalBlocker block(m_speed);
        restoreValue(m_speed, state.value("speed"));
    }
    updateSpeed();
}

void AutoregressiveView::restoreAnchors(const QJsonObject& state, WorkspaceContext& context) {
    {
        QSignalBlocker block(m_datasetItem);  // the image comes from the workspace, not the data
        restoreValue(m_datasetItem, state.value("dataset_item"));
    }
    const cv::Mat image =
        context.imageFromJson(state.value("anchor_image"), tr("Autoregressive anchor image"));
    if (image.empty()) return;
    m_anchors->setImage(fittedToModel(image));
    const cv::Mat mask =
        context.imageFromJson(state.value("anchor_mask"), tr("Autoregressive anchor mask"));
    if (!mask.empty() && !m_anchors->setMask(mask))
        context.warn(tr("Autoregressive anchor mask: %1\u00d7%2 does not fit the %3\u00d7%4 image")
                         .arg(mask.cols)
                         .arg(mask.rows)
                         .arg(m_anchors->image().cols)
                         .arg(m_anchors->image().rows));
}

// As saved when it has the model's shape already (bit for bit), else fitted like an import.
cv::Mat AutoregressiveView::fittedToModel(const cv::Mat& image) const {
    const CatalogEntry* entry = currentEntry();
    if (!entry || (image.rows == entry->shape.height && image.cols == entry->shape.width &&
                   image.channels() == entry->shape.channels))
        return image;
    return fitMatToShape(image, entry->shape);
}

// Restarts on the run's own setup, sampled to where its start was, then makes every later
// branch again from its source in the order they were made (each sampled to where it was), and
// switches to the one that was current. The session does it all in its thread, in this order.
void AutoregressiveView::restoreRun(const QJsonObject& run, WorkspaceContext& context) {
    std::vector<SavedBranch> saved = readSavedBranches(run.value("branches"), context);
    AutoregressiveSetup setup = setupFromControls();
    if (saved.empty() || !readRunAnchors(run, setup, context)) {
        if (!saved.empty())
            context.warn(tr("Autoregressive: the run starts afresh; its branches are left out"));
        restart();
        return;
    }
    setup.completions =
        std::clamp(run.value("completions").toInt(setup.completions), 1, kMaxCompletions);
    setup.seed = saved.front().seed;
    setup.temperature = saved.front().temperature;
    setup.steps = saved.front().stepsDone;
    startRun(setup);

    std::vector<quint64> ids(saved.size(), 0);  // the new id of each saved branch; 0: left out
    std::vector<BranchRecord> hidden;           // rebuilt as sources only, then forgotten
    ids[0] = m_runId;
    m_history.find(m_runId)->last.stepsDone = saved.front().stepsDone;  // until its report
    if (saved.front().dropped) {
        hidden.push_back(*m_history.find(m_runId));
        removeBranch(m_runId);
    }
    for (size_t i = 1; i < saved.size(); ++i) {
        const SavedBranch& s = saved[i];
        if (s.parent < 0) continue;  // unreadable (warned)
        const quint64 source = ids[size_t(s.parent)];
        if (source == 0) {
            context.warn(
                tr("Autoregressive branch %1: its source is left out, so it is too").arg(i + 1));
            continue;
        }
        BranchRecord branch;
        branch.parent = source;
        branch.forkCells = s.forkCells;
        branch.seed = s.seed;
        branch.temperature = s.temperature;
        branch.last.stepsDone = s.stepsDone;
        branch.id = m_session.branch(source, s.forkCells, s.seed, s.temperature, s.stepsDone);
        ids[i] = branch.id;
        if (s.dropped)
            hidden.push_back(branch);
        else
            listBranch(branch);
    }
    if (m_history.size() == 0 && !hidden.empty() && hidden.front().id == m_runId) {
        listBranch(hidden.front());  // nothing else to show: the run's start after all
        hidden.erase(hidden.begin());
    }
    const int current = run.value("current").toInt(-1);
    if (current >= 0 && size_t(current) < saved.size() && ids[size_t(current)] &&
        m_history.find(ids[size_t(current)]))
        m_history.setCurrent(ids[size_t(current)]);
    selectBranchItem();
    m_rewindAtPresent = true;
    // The switch first: a forgotten branch must have been parked to be dropped.
    m_generation = m_session.switchTo(m_history.currentId());
    for (const BranchRecord& h : hidden) {
        m_session.forget(h.id);
        m_history.addDropped(h);
    }
    dropOldBranches();
    m_positionLabel->setText(tr("Restoring %n branch(es)\u2026", nullptr, branchCount()));
    for (ImageView* view : m_views) view->setOverlayText(tr("Restoring\u2026"));
    updateButtons();
}

// The run's own anchors into `setup`; false (with a warning) when they were saved but cannot be
// used: the branches could not be sampled as they were.
bool AutoregressiveView::readRunAnchors(const QJsonObject& run, AutoregressiveSetup& setup,
                                        WorkspaceContext& context) {
    setup.anchorImage.release();
    setup.anchorMask.release();
    const QJsonValue image = run.value("anchor_image");
    if (image.isNull() || image.isUndefined()) return true;  // from blank
    setup.anchorImage = context.imageFromJson(image, tr("Autoregressive run: anchor image"));
    if (setup.anchorImage.empty()) return false;
    setup.anchorImage = fittedToModel(setup.anchorImage);
    const QJsonValue mask = run.value("anchor_mask");
    if (mask.isNull() || mask.isUndefined()) return true;  // every pixel kept
    setup.anchorMask = context.imageFromJson(mask, tr("Autoregressive run: anchor mask"));
    if (setup.anchorMask.empty()) return false;
    if (setup.anchorMask.type() != CV_8UC1 || setup.anchorMask.size() != setup.anchorImage.size()) {
        context.warn(tr("Autoregressive run: the anchor mask does not fit its image"));
        return false;
    }
    return true;
}

// The saved branches, each checked: the first is the run's start, every other names an earlier
// one as its source. Empty (with a warning) when the start itself is unusable.
std::vector<AutoregressiveView::SavedBranch> AutoregressiveView::readSavedBranches(
    const QJsonValue& value, WorkspaceContext& context) const {
    std::vector<SavedBranch> saved;
    const QJsonArray array = value.toArray();
    for (int i = 0; i < array.size(); ++i) {
        const QJsonObject o = array.at(i).toObject();
        SavedBranch s;
        s.parent = o.value("parent").toInt(-2);
        s.forkCells = o.value("fork_cells").toInteger(-1);
        const qint64 seed = o.value("seed").toInteger(-1);
        s.seed = quint64(std::max<qint64>(seed, 0));
        s.temperature = o.value("temperature").toDouble(-1);
        s.stepsDone = o.value("steps_done").toInteger(-1);
        s.dropped = o.value("dropped").toBool(false);
        const bool start = i == 0;
        const bool valid = (start ? s.parent == -1 && s.forkCells == 0
                                  : s.parent >= 0 && s.parent < i && s.forkCells >= 0) &&
                           seed >= 0 && std::isfinite(s.temperature) && s.temperature > 0 &&
                           s.stepsDone >= 0;
        if (!valid) {
            context.warn(tr("Autoregressive branch %1: unreadable, left out").arg(i + 1));
            if (start) return {};
            s.parent = -1;  // keeps the indices; the branches made from it are left out with it
        }
        saved.push_back(s);
    }
    return saved;
}

// ---- video -----------------------------------------------------------------------------------

void AutoregressiveView::chooseVideoFile() {
    QSettings settings;
    const QString dir = settings.value(kLastVideoDirKey).toString();
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export the generation as a video"),
        QDir(dir).filePath(QStringLiteral("autoregressive.mp4")), tr("MP4 video (*.mp4)"));
    if (path.isEmpty()) return;
    settings.setValue(kLastVideoDirKey, QFileInfo(path).absolutePath());
    exportVideo(path);
}

void AutoregressiveView::exportVideo(const QString& path) {
    const BranchRecord* branch = m_history.current();
    if (!branch || branch->frames.empty() || m_exporting) {
        const QString error =
            m_exporting ? tr("%1: a video is being written already").arg(path)
                        : tr("%1: nothing to export: the run has no frames yet").arg(path);
        m_positionLabel->setText(error);
        emit videoExported(path, error);
        return;
    }
    AutoregressiveVideoLayout layout;
    layout.gridWidth = branch->last.gridWidth;
    layout.gridHeight = branch->last.gridHeight;
    layout.cellSize = branch->last.cellSize;
    layout.grids = branch->last.grids;
    layout.channels = branch->last.channels;
    layout.totalSteps = branch->last.totalSteps;
    const std::vector<AutoregressiveFrame> frames = branch->frames;  // shared 8-bit images
    const std::vector<float> entropy = branch->last.entropyBits;
    m_exporting = true;
    m_positionLabel->setText(tr("Writing %1\u2026").arg(QFileInfo(path).fileName()));
    updateButtons();
    QPointer<AutoregressiveView> self(this);
    QThreadPool::globalInstance()->start([self, path, frames, entropy, layout] {
        QString error;
        try {
            writeAutoregressiveVideo(path, frames, entropy, layout);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(qApp, [self, path, error] {
            if (!self) return;
            self->m_exporting = false;
            self->m_positionLabel->setText(
                error.isEmpty() ? tr("Wrote %1").arg(QFileInfo(path).fileName()) : error);
            self->updateButtons();
            emit self->videoExported(path, error);
        });
    });
}

}  // namespace le
