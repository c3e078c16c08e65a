#include "ui/views/interpolation_view.h"
#include "core/imaging/compose.h"

#include "core/data/datasets.h"
#include "core/data/faces.h"
#include "core/data/image_import.h"
#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/latent/routes.h"
#include "ui/qt_image.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/view_controls.h"
#include "ui/workspace_state.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QThreadPool>
#include <QTimer>
#include <QVBoxLayout>

#include <initializer_list>

namespace le {

namespace {

const char* const kLastImageKey = "interpolation/lastImage";
const char* const kLastExportKey = "interpolation/lastExport";
const char* const kFramesKey = "interpolation/frames";
const char* const kSlerpKey = "interpolation/slerp";
const char* const kFpsKey = "interpolation/fps";
constexpr int kStripCell = 56;   // on-screen strip cell, pixels
constexpr int kExportCell = 96;  // exported PNG and video cell, pixels

bool canInterpolate(const CatalogEntry& e) {
    return !interpolationRouteName(interpolationRoute(e.capabilities)).isEmpty();
}

}  // namespace

InterpolationView::InterpolationView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(12);
    layout->addWidget(buildControls());
    layout->addWidget(buildResults(), 1);

    m_timer = new QTimer(this);
    connect(m_timer, &QTimer::timeout, this, &InterpolationView::advanceFrame);

    connect(&m_job, &InterpolationJob::progress, this, &InterpolationView::onProgress,
            Qt::QueuedConnection);
    connect(&m_job, &InterpolationJob::strip, this, &InterpolationView::onStrip,
            Qt::QueuedConnection);
    connect(&m_job, &InterpolationJob::finished, this, &InterpolationView::onFinished,
            Qt::QueuedConnection);

    addViewShortcut(this, QKeySequence(Qt::CTRL | Qt::Key_Return), [this] { interpolate(); });
    addViewShortcut(this, QKeySequence(Qt::Key_Escape), [this] { cancel(); });
    addViewShortcut(this, QKeySequence(Qt::Key_Space), [this] { setPlaying(!isPlaying()); });
    updateButtons();
}

InterpolationView::~InterpolationView() = default;

QWidget* InterpolationView::buildEndpoint(int which, QWidget* parent) {
    auto* box = new QWidget(parent);
    auto* column = new QVBoxLayout(box);
    column->setContentsMargins(0, 0, 0, 0);
    Endpoint& end = m_ends[size_t(which)];
    const QString name = which == 0 ? tr("A (from)") : tr("B (to)");
    column->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(name), box));
    end.view = new ImageView(box);
    end.view->setMinimumSize(110, 110);
    end.view->setPlaceholderText(tr("Pick an item, a face or a file"));
    end.view->setToolTip(tr("Endpoint %1 as the first model sees it").arg(name));
    column->addWidget(end.view);

    end.item =
        newDatasetItemBox(box, tr("Use this test image of the dataset as endpoint %1").arg(name));
    end.item->setValue(which);
    connect(end.item, &QSpinBox::valueChanged, this, [this, which] { loadDatasetItem(which); });
    column->addWidget(end.item);
    auto* buttons = new QHBoxLayout;
    auto* face = new QPushButton(tr("Face"), box);
    face->setToolTip(which == 0 ? tr("A new procedural face as endpoint A (Ctrl+1)")
                                : tr("A new procedural face as endpoint B (Ctrl+2)"));
    face->setShortcut(QKeySequence(Qt::CTRL | (which == 0 ? Qt::Key_1 : Qt::Key_2)));
    connect(face, &QPushButton::clicked, this, [this, which] { generateFace(which); });
    auto* open = new QPushButton(tr("Open\u2026"), box);
    open->setToolTip(which == 0 ? tr("An image file as endpoint A (Ctrl+Shift+1)")
                                : tr("An image file as endpoint B (Ctrl+Shift+2)"));
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | (which == 0 ? Qt::Key_1 : Qt::Key_2)));
    connect(open, &QPushButton::clicked, this, [this, which] { chooseEndpointFile(which); });
    buttons->addWidget(face);
    buttons->addWidget(open);
    column->addLayout(buttons);
    return box;
}

QWidget* InterpolationView::buildControls() {
    auto* box = new QGroupBox(tr("Endpoints and path"), this);
    box->setMaximumWidth(330);
    auto* form = new QFormLayout(box);
    QSettings settings;

    m_dataset = new QComboBox(box);
    m_dataset->setToolTip(tr("The models of this dataset interpolate"));
    connect(m_dataset, &QComboBox::currentIndexChanged, this, [this] {
        rebuildRows();
        loadDefaultEndpoints();
    });
    form->addRow(tr("&Models of"), m_dataset);

    auto* ends = new QHBoxLayout;
    ends->addWidget(buildEndpoint(0, box));
    ends->addWidget(buildEndpoint(1, box));
    form->addRow(ends);

    m_frames = new QSpinBox(box);
    m_frames->setRange(2, 64);
    m_frames->setValue(settings.value(kFramesKey, 10).toInt());
    m_frames->setToolTip(tr("Frames per strip, both endpoints included"));
    form->addRow(tr("&Frames"), m_frames);
    m_path = new QComboBox(box);
    m_path->addItem(tr("lerp (straight line)"));
    m_path->addItem(tr("slerp (great circle)"));
    m_path->setCurrentIndex(settings.value(kSlerpKey, false).toBool() ? 1 : 0);
    m_path->setToolTip(
        tr("Linear, or spherical: slerp keeps the latent's norm where a Gaussian "
           "prior's mass is instead of cutting through the middle"));
    form->addRow(tr("&Path"), m_path);
    m_ganSteps = new QSpinBox(box);
    m_ganSteps->setRange(1, 10000);
    m_ganSteps->setValue(150);
    m_ganSteps->setToolTip(
        tr("A GAN without an encoder reaches each endpoint by this many "
           "optimiser steps"));
    form->addRow(tr("GAN &steps"), m_ganSteps);

    const RunControls run = addRunControls(
        form, box,
        {tr("Interpolate"), tr("Interpolate with every model listed on the right (Ctrl+Enter)")},
        tr("Progress of the model now interpolating"), tr("Stop interpolating (Esc)"));
    m_run = run.run;
    m_progress = run.progress;
    m_cancel = run.cancel;
    connect(m_run, &QPushButton::clicked, this, &InterpolationView::interpolate);
    connect(m_cancel, &QPushButton::clicked, this, &InterpolationView::cancel);

    auto* playRow = new QHBoxLayout;
    m_play = new QPushButton(tr("Play"), box);
    m_play->setCheckable(true);
    m_play->setToolTip(tr("Play the strips as an animation, forth and back (Space)"));
    connect(m_play, &QPushButton::toggled, this, &InterpolationView::setPlaying);
    m_fps = new QSpinBox(box);
    m_fps->setRange(1, 60);
    m_fps->setValue(settings.value(kFpsKey, 8).toInt());
    m_fps->setSuffix(tr(" fps"));
    m_fps->setToolTip(tr("Animation and video speed, frames per second"));
    connect(m_fps, &QSpinBox::valueChanged, this, [this](int fps) {
        m_timer->setInterval(1000 / fps);
        QSettings().setValue(kFpsKey, fps);
    });
    playRow->addWidget(m_play, 1);
    playRow->addWidget(m_fps);
    form->addRow(playRow);

    std::tie(m_exportPng, m_exportVideo) = addExportRow(
        form, box, {tr("PNG\u2026"), tr("Export the strips as one PNG, a row per model (Ctrl+E)")},
        {tr("MP4\u2026"),
         tr("Export the animation as an MP4 video, the models stacked (Ctrl+Shift+E)")});
    connect(m_exportPng, &QPushButton::clicked, this, [this] { chooseExport(false); });
    connect(m_exportVideo, &QPushButton::clicked, this, [this] { chooseExport(true); });
    m_status = addStatusLine(form, box);
    return box;
}

QWidget* InterpolationView::buildResults() {
    auto* scroll =
        addModelGrid(this, {tr("Model"), tr("Playing"), tr("Strip (A \u2192 B)")}, &m_grid);
    return scroll;
}

void InterpolationView::setCheckpoints(const QVector<CatalogEntry>& entries) {
    m_entries = entries;
    // Faces are the default example: two faces morphing read at a glance.
    fillDatasetCombo(m_dataset, entries, canInterpolate, QStringLiteral("faces"));
    // A rescan that changes nothing here keeps the strips (and a run in progress).
    if (!sameModels(interpolatingModels(), m_models)) rebuildRows();
    if (m_ends[0].image.empty() && m_ends[1].image.empty()) loadDefaultEndpoints();
    updateButtons();
}

QVector<CatalogEntry> InterpolationView::interpolatingModels() const {
    return modelsOfDataset(m_entries, m_dataset->currentText(), canInterpolate);
}

void InterpolationView::rebuildRows() {
    for (const Row& row : m_rows)
        for (QWidget* w :
             std::initializer_list<QWidget*>{row.title, row.player, row.strip, row.numbers})
            delete w;
    m_rows.clear();
    m_strips.clear();
    m_models = interpolatingModels();
    QWidget* inner = m_grid->parentWidget();
    for (int i = 0; i < m_models.size(); ++i) {
        const CatalogEntry& e = m_models[i];
        Row row;
        row.title =
            modelRowTitle(e, interpolationRouteName(interpolationRoute(e.capabilities)), inner);
        row.player = new ImageView(inner);
        row.player->setMinimumSize(96, 96);
        row.player->setMaximumSize(128, 128);
        row.player->setToolTip(tr("The current frame of this model's strip (Space plays)"));
        auto* column = new QVBoxLayout;
        row.strip = new QLabel(inner);
        row.strip->setToolTip(tr("Every frame from A (left) to B (right)"));
        row.numbers = new QLabel(tr("\u2014"), inner);
        row.numbers->setTextInteractionFlags(Qt::TextSelectableByMouse);
        row.numbers->setToolTip(
            tr("Endpoint error: how closely the model reproduces A and B (MSE on [-1, 1])"));
        m_grid->addWidget(row.title, i + 1, 0);
        m_grid->addWidget(row.player, i + 1, 1);
        column->addWidget(row.strip);
        column->addWidget(row.numbers);
        m_grid->addLayout(column, i + 1, 2);
        m_rows.push_back(row);
    }
    m_strips.resize(m_models.size());
    if (m_models.isEmpty())
        m_status->setText(tr("No model that can interpolate is loaded for this dataset."));
}

void InterpolationView::loadDefaultEndpoints() {
    if (m_dataset->currentText().startsWith(QLatin1String("faces"))) {
        generateFace(0);
        generateFace(1);
    } else {
        loadDatasetItem(0);
        loadDatasetItem(1);
    }
}

void InterpolationView::setEndpoint(int which, const cv::Mat& image) {
    if (image.empty() || which < 0 || which > 1) return;
    Endpoint& end = m_ends[size_t(which)];
    ++end.request;
    end.image = image.clone();
    end.view->setImage(
        matToQImage(m_models.isEmpty() ? end.image : fitMatToShape(end.image, m_models[0].shape)));
    m_error.clear();
    if (!m_ends[0].image.empty() && !m_ends[1].image.empty()) interpolate();
    updateButtons();
}

QJsonObject InterpolationView::workspaceState(const WorkspaceContext& context) const {
    return {{"dataset", m_dataset->currentText()},
            {"from", WorkspaceContext::imageToJson(m_ends[0].image)},
            {"to", WorkspaceContext::imageToJson(m_ends[1].image)},
            {"from_item", m_ends[0].item->value()},
            {"to_item", m_ends[1].item->value()},
            {"frames", m_frames->value()},
            {"slerp", m_path->currentIndex() == 1},
            {"gan_steps", m_ganSteps->value()},
            {"fps", m_fps->value()}};
}

void InterpolationView::restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context) {
    {
        const QSignalBlocker blockDataset(m_dataset), blockFrom(m_ends[0].item),
            blockTo(m_ends[1].item);
        restoreComboText(m_dataset, state.value(QStringLiteral("dataset")), context,
                         tr("Interpolation dataset"));
        restoreValue(m_ends[0].item, state.value(QStringLiteral("from_item")));
        restoreValue(m_ends[1].item, state.value(QStringLiteral("to_item")));
    }
    restoreValue(m_frames, state.value(QStringLiteral("frames")));
    if (state.value(QStringLiteral("slerp")).isBool())
        m_path->setCurrentIndex(state.value(QStringLiteral("slerp")).toBool() ? 1 : 0);
    restoreValue(m_ganSteps, state.value(QStringLiteral("gan_steps")));
    restoreValue(m_fps, state.value(QStringLiteral("fps")));
    rebuildRows();
    const cv::Mat from =
        context.imageFromJson(state.value(QStringLiteral("from")), tr("Interpolation endpoint A"));
    const cv::Mat to =
        context.imageFromJson(state.value(QStringLiteral("to")), tr("Interpolation endpoint B"));
    if (from.empty() || to.empty()) {
        loadDefaultEndpoints();
        return;
    }
    // Endpoint A without interpolating yet: B's arrival starts the one run.
    m_ends[0].image.release();
    setEndpoint(1, to);
    setEndpoint(0, from);
}

bool InterpolationView::openEndpointFile(int which, const QString& path) {
    ++m_ends[size_t(which)].request;
    try {
        setEndpoint(which, readImageFile(path));
        QSettings().setValue(kLastImageKey, QFileInfo(path).absoluteFilePath());
        return true;
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
        return false;
    }
}

void InterpolationView::chooseEndpointFile(int which) {
    const QString path = askForImageFile(
        this, which == 0 ? tr("Open endpoint A") : tr("Open endpoint B"), kLastImageKey);
    if (!path.isEmpty()) openEndpointFile(which, path);
}

void InterpolationView::generateFace(int which) {
    const int size = m_models.isEmpty() ? 32 : int(m_models[0].shape.height);
    setEndpoint(which, renderFace(FaceFactors::random(quint64(2000 + m_faceSeed++)), size));
}

void InterpolationView::loadDatasetItem(int which) {
    const QString dataset = m_dataset->currentText();
    if (dataset.isEmpty()) return;
    const int index = m_ends[size_t(which)].item->value();
    const int request = ++m_ends[size_t(which)].request;
    QPointer<InterpolationView> self(this);
    QThreadPool::globalInstance()->start([self, dataset, index, request, which] {
        cv::Mat image;
        QString error;
        try {
            image = DatasetCache::instance().item(dataset, index);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(qApp, [self, image, error, request, which] {
            if (!self || request != self->m_ends[size_t(which)].request) return;
            if (!error.isEmpty())
                self->showError(error);
            else
                self->setEndpoint(which, image);
        });
    });
}

void InterpolationView::interpolate() {
    if (m_ends[0].image.empty() || m_ends[1].image.empty() || m_models.isEmpty()) return;
    InterpolationRequest request;
    for (const CatalogEntry& e : m_models) request.checkpoints << e.path;
    request.from = m_ends[0].image;
    request.to = m_ends[1].image;
    request.frames = m_frames->value();
    request.slerp = m_path->currentIndex() == 1;
    request.inversionSteps = m_ganSteps->value();
    QSettings settings;
    settings.setValue(kFramesKey, request.frames);
    settings.setValue(kSlerpKey, request.slerp);
    m_strips.fill(InterpolationStrip());
    for (Row& row : m_rows) row.numbers->setText(tr("\u2026"));
    m_progress->setRange(0, 0);
    m_status->setText(tr("Interpolating with %n model(s)\u2026", nullptr, m_models.size()));
    m_running = true;
    m_generation = m_job.begin(request);
    updateButtons();
}

void InterpolationView::cancel() {
    if (m_running) m_job.cancel();
}

bool InterpolationView::isPlaying() const {
    return m_timer->isActive();
}

void InterpolationView::setPlaying(bool playing) {
    if (playing)
        m_timer->start(1000 / m_fps->value());
    else
        m_timer->stop();
    QSignalBlocker block(m_play);
    m_play->setChecked(playing);
    m_play->setText(playing ? tr("Pause") : tr("Play"));
}

void InterpolationView::advanceFrame() {
    int frames = 0;
    for (const InterpolationStrip& s : m_strips) frames = std::max(frames, int(s.frames.size()));
    if (frames < 2) return;
    int next = m_frame + m_direction;
    if (next >= frames || next < 0) {
        m_direction = -m_direction;
        next = m_frame + m_direction;
    }
    showFrame(next);
}

void InterpolationView::showFrame(int frame) {
    m_frame = frame;
    for (int i = 0; i < m_rows.size() && i < m_strips.size(); ++i) {
        const auto& frames = m_strips[i].frames;
        if (frames.empty()) continue;
        m_rows[i].player->setImage(
            matToQImage(frames[size_t(std::clamp<int>(frame, 0, int(frames.size()) - 1))]));
    }
}

void InterpolationView::onProgress(quint64 generation, qint64 done, qint64 total,
                                   const QString& what) {
    if (generation != m_generation) return;
    m_progress->setRange(0, int(total));
    m_progress->setValue(int(done));
    m_progress->setFormat(what.isEmpty() ? QStringLiteral("%p%") : tr("%1: %p%").arg(what));
}

void InterpolationView::onStrip(quint64 generation, int modelIndex,
                                const InterpolationStrip& strip) {
    if (generation != m_generation || modelIndex >= m_rows.size()) return;
    m_strips[modelIndex] = strip;
    Row& row = m_rows[modelIndex];
    if (!strip.error.isEmpty()) {
        row.player->setImage({});
        row.player->setOverlayText(tr("failed"));
        row.strip->clear();
        row.numbers->setText(strip.error);
        row.numbers->setWordWrap(true);
        return;
    }
    row.player->setOverlayText({});
    const cv::Mat composed = composeStrips({strip.frames}, kStripCell, 1);
    row.strip->setPixmap(QPixmap::fromImage(matToQImage(composed)));
    row.numbers->setText(strip.cancelled ? tr("cancelled")
                                         : tr("endpoint MSE %1 \u00b7 %2 ms")
                                               .arg(QString::number(strip.endpointMse, 'f', 4))
                                               .arg(QString::number(strip.ms, 'f', 0)));
    showFrame(m_frame);
}

void InterpolationView::onFinished(quint64 generation, bool cancelled, const QString& error) {
    if (generation != m_generation) return;
    m_running = false;
    m_progress->setRange(0, 1);
    m_progress->setValue(1);
    m_progress->setFormat(QStringLiteral("%p%"));
    m_status->setText(!error.isEmpty() ? error
                      : cancelled      ? tr("Cancelled.")
                                       : tr("Done: Space plays the strips."));
    updateButtons();
    emit interpolationFinished(cancelled);
}

std::vector<std::vector<cv::Mat>> InterpolationView::stripFrames() const {
    std::vector<std::vector<cv::Mat>> frames;
    for (const InterpolationStrip& s : m_strips) frames.push_back(s.frames);
    return frames;
}

bool InterpolationView::exportPng(const QString& path) {
    try {
        const cv::Mat image = composeStrips(stripFrames(), kExportCell);
        if (image.empty())
            throw DataError(QStringLiteral("%1: nothing to export yet: interpolate first")
                                .arg(path)
                                .toStdString());
        writeImage(path, image);
        m_status->setText(tr("Wrote %1").arg(QFileInfo(path).fileName()));
        return true;
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
        return false;
    }
}

bool InterpolationView::exportVideo(const QString& path) {
    try {
        writeInterpolationVideo(path, stripFrames(), m_fps->value(), kExportCell);
        m_status->setText(tr("Wrote %1").arg(QFileInfo(path).fileName()));
        return true;
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
        return false;
    }
}

void InterpolationView::chooseExport(bool video) {
    QSettings settings;
    const QString dir = settings.value(kLastExportKey).toString();
    const QString path =
        video
            ? QFileDialog::getSaveFileName(this, tr("Export the animation"),
                                           QDir(dir).filePath(QStringLiteral("interpolation.mp4")),
                                           tr("MP4 video (*.mp4)"))
            : QFileDialog::getSaveFileName(this, tr("Export the strips"),
                                           QDir(dir).filePath(QStringLiteral("interpolation.png")),
                                           tr("PNG image (*.png)"));
    if (path.isEmpty()) return;
    settings.setValue(kLastExportKey, QFileInfo(path).absolutePath());
    video ? exportVideo(path) : exportPng(path);
}

void InterpolationView::showError(const QString& message) {
    m_error = message;
    m_status->setText(message);
}

void InterpolationView::updateButtons() {
    m_run->setEnabled(!m_models.isEmpty() && !m_ends[0].image.empty() && !m_ends[1].image.empty());
    m_cancel->setEnabled(m_running);
}

}  // namespace le
