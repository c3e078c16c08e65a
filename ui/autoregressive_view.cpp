#include "autoregressive_view.h"

#include "anchor_editor.h"
#include "image_io.h"
#include "image_view.h"
#include "qt_image.h"
#include "view_data.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QThreadPool>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>

namespace le {

namespace {

constexpr int kMaxCompletions = 6;

double stepsPerSecond(int sliderValue) {
    return std::pow(10.0, sliderValue / 25.0);  // 1 .. 10 000, logarithmic
}

QString channelName(const AutoregressiveStep& step) {
    if (step.family == QLatin1String("vqvae")) return QStringLiteral("code");
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

AutoregressiveView::~AutoregressiveView() = default;

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
    m_datasetItem = new QSpinBox(box);
    m_datasetItem->setRange(0, 1999);
    m_datasetItem->setPrefix(tr("item "));
    m_datasetItem->setToolTip(tr("A test image of the model's dataset as the anchor image"));
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
    form->addRow(tr("S&peed"), speedRow);
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
    m_viewRow = new QHBoxLayout;
    column->addLayout(m_viewRow, 3);

    m_positionLabel = new QLabel(tr("Choose a PixelCNN or VQ-VAE model"), panel);
    m_positionLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    column->addWidget(m_positionLabel);

    m_plot = new QCustomPlot(panel);
    m_plot->setMinimumHeight(200);
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
    m_plot->yAxis->setLabel(tr("probability"));
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    column->addWidget(m_plot, 2);
    return panel;
}

void AutoregressiveView::addShortcuts() {
    auto add = [this](const QKeySequence& keys, auto slot) {
        auto* action = new QAction(this);
        action->setShortcut(keys);
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        connect(action, &QAction::triggered, this, slot);
        addAction(action);
    };
    add(QKeySequence(Qt::CTRL | Qt::Key_R), [this] { m_restart->click(); });
    add(QKeySequence(Qt::Key_Space), [this] { m_play->click(); });
    add(QKeySequence(Qt::Key_Right), [this] { m_step->click(); });
    add(QKeySequence(Qt::Key_Down), [this] { m_stepRow->click(); });
    add(QKeySequence(Qt::Key_End), [this] { m_run->click(); });
    add(QKeySequence(Qt::Key_Escape), [this] { m_stop->click(); });
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
    QSettings settings;
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open anchor image"), settings.value("autoregressive/lastImageDir").toString(),
        tr("Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)"));
    if (path.isEmpty()) return;
    settings.setValue("autoregressive/lastImageDir", QFileInfo(path).absolutePath());
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
    const CatalogEntry* entry = currentEntry();
    if (!entry) return;
    AutoregressiveSetup setup;
    setup.checkpointPath = entry->path;
    setup.temperature = m_temperature->value();
    setup.seed = quint64(m_seed->value());
    setup.completions = m_completions->value();
    if (m_start->currentIndex() != Blank && !m_anchors->image().empty()) {
        setup.anchorImage = m_anchors->image();
        setup.anchorMask = m_anchors->mask();
    }
    m_error.clear();
    m_playing = false;
    m_generation = m_session.restart(setup);
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
        view->setToolTip(tr("Completion %1; the outline marks the position being sampled")
                             .arg(m_views.size() + 1));
        m_viewRow->addWidget(view);
        m_views.push_back(view);
    }
}

void AutoregressiveView::togglePlay() {
    if (m_playing) {
        m_session.pause();
        m_playing = false;
    } else {
        if (m_last.done) restart();
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
    if (step.generation != m_generation) return;  // from before a restart
    m_last = step;
    for (int i = 0; i < m_views.size() && i < step.images.size(); ++i) {
        m_views[i]->setImage(matToQImage(step.images[i]));
        m_views[i]->setOverlayText({});
        if (step.position >= 0 && !step.done)
            m_views[i]->setHighlight(QRect(step.col * step.cellSize, step.row * step.cellSize,
                                           step.cellSize, step.cellSize));
        else
            m_views[i]->setHighlight({});
    }
    m_progress->setRange(0, int(step.totalSteps));
    m_progress->setValue(int(step.stepsDone));
    showDistribution(step);
    updateButtons();
    emit stepShown();
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
    m_plot->xAxis->setLabel(step.family == QLatin1String("vqvae") ? tr("code") : tr("value"));
    m_plot->replot(QCustomPlot::rpQueuedReplot);

    QString text;
    if (step.position < 0) {
        text = tr("%1 positions to fill (%2 \u00d7 %3%4). Play, step, or run to the end.")
                   .arg(step.totalSteps)
                   .arg(step.gridHeight)
                   .arg(step.gridWidth)
                   .arg(step.family == QLatin1String("vqvae") ? tr(" codes") : QString());
    } else {
        text = tr("Position %1 of %2: row %3, column %4, %5 = %6%7 \u00b7 %8 ms per step")
                   .arg(step.position + 1)
                   .arg(step.totalSteps)
                   .arg(step.row)
                   .arg(step.col)
                   .arg(channelName(step))
                   .arg(step.value)
                   .arg(step.anchored ? tr(" (anchored)") : QString())
                   .arg(QString::number(step.msPerStep, 'f', 1));
        if (step.done) text += tr(" \u2014 done");
    }
    m_positionLabel->setText(text);
}

void AutoregressiveView::onFailed(quint64 generation, const QString& message) {
    if (generation != m_generation) return;
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
    m_play->setEnabled(ready);
    m_step->setEnabled(canStep && !m_playing);
    m_stepRow->setEnabled(canStep && !m_playing);
    m_run->setEnabled(canStep && !m_playing);
    m_stop->setEnabled(m_playing);
    m_restart->setEnabled(currentEntry() != nullptr);
}

}  // namespace le
