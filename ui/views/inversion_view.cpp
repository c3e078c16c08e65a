#include "ui/views/inversion_view.h"

#include "core/data/datasets.h"
#include "core/data/faces.h"
#include "core/data/image_import.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/latent/routes.h"
#include "ui/qt_image.h"
#include "ui/widgets/code_grid_editor.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/view_controls.h"
#include "ui/workspace_state.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMimeData>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QThreadPool>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>
#include <initializer_list>

namespace le {

namespace {

const char* const kLastImageKey = "inversion/lastImage";

ImageView* smallView(QWidget* parent, const QString& tip) {
    auto* view = new ImageView(parent);
    view->setMinimumSize(96, 96);
    view->setMaximumSize(160, 160);
    view->setToolTip(tip);
    return view;
}

bool canInvert(const CatalogEntry& e) {
    return !routeName(inversionRoute(e.capabilities)).isEmpty();
}

}  // namespace

InversionView::InversionView(QWidget* parent) : QWidget(parent) {
    setAcceptDrops(true);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->setSpacing(12);
    layout->addWidget(buildControls());
    layout->addWidget(buildResults(), 1);

    connect(&m_job, &InversionJob::optimisationStep, this, &InversionView::onProgress,
            Qt::QueuedConnection);
    connect(&m_job, &InversionJob::live, this, &InversionView::onLive, Qt::QueuedConnection);
    connect(&m_job, &InversionJob::outcome, this, &InversionView::onOutcome, Qt::QueuedConnection);
    connect(&m_job, &InversionJob::finished, this, &InversionView::onFinished,
            Qt::QueuedConnection);

    addViewShortcut(this, QKeySequence(Qt::CTRL | Qt::Key_I), &InversionView::invert);
    addViewShortcut(this, QKeySequence(Qt::Key_Escape), &InversionView::cancel);
    updateButtons();
}

InversionView::~InversionView() = default;

QWidget* InversionView::buildControls() {
    auto* box = new QGroupBox(tr("Input"), this);
    box->setMaximumWidth(330);
    auto* form = new QFormLayout(box);

    m_dataset = new QComboBox(box);
    m_dataset->setToolTip(tr("The models of this dataset invert the image"));
    connect(m_dataset, &QComboBox::currentIndexChanged, this, [this] {
        rebuildRows();
        loadDatasetItem();
    });
    form->addRow(tr("&Models of"), m_dataset);

    m_input = new ImageView(box);
    m_input->setMinimumSize(160, 160);
    m_input->setPlaceholderText(tr("Drop an image here, open one, or pick a dataset item"));
    m_input->setToolTip(tr("The image as the first model sees it. Drop image files here."));
    form->addRow(m_input);

    auto* sources = new QHBoxLayout;
    m_item = newDatasetItemBox(box, tr("A test image of the dataset"));
    connect(m_item, &QSpinBox::valueChanged, this, &InversionView::loadDatasetItem);
    auto* open = new QPushButton(tr("Open\u2026"), box);
    open->setToolTip(tr("Invert an image file (Ctrl+Shift+O)"));
    open->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    connect(open, &QPushButton::clicked, this, &InversionView::chooseImageFile);
    auto* face = new QPushButton(tr("New face"), box);
    face->setToolTip(tr("A new procedural face (the faces dataset's generator)"));
    connect(face, &QPushButton::clicked, this, &InversionView::generateFace);
    sources->addWidget(m_item, 1);
    sources->addWidget(open);
    sources->addWidget(face);
    form->addRow(sources);

    m_steps = new QSpinBox(box);
    m_steps->setRange(1, 100000);
    m_steps->setValue(300);
    m_steps->setToolTip(tr("GAN: optimiser steps per start"));
    form->addRow(tr("GAN &steps"), m_steps);
    m_starts = new QSpinBox(box);
    m_starts->setRange(0, 16);
    m_starts->setValue(2);
    m_starts->setToolTip(tr("GAN: random starts, plus one from its encoder where it has one"));
    form->addRow(tr("GAN s&tarts"), m_starts);

    const RunControls run = addRunControls(
        form, box,
        {tr("Invert"), tr("Invert the image with every model listed on the right (Ctrl+I)")},
        tr("Models done; a GAN's optimisation steps while it runs"),
        tr("Stop the inversion (Esc); a GAN keeps its best so far"));
    m_invert = run.run;
    m_progress = run.progress;
    m_cancel = run.cancel;
    connect(m_invert, &QPushButton::clicked, this, &InversionView::invert);
    connect(m_cancel, &QPushButton::clicked, this, &InversionView::cancel);

    auto* liveRow = new QHBoxLayout;
    m_lossPlot = new QCustomPlot(box);
    m_lossPlot->setMinimumHeight(150);
    m_lossPlot->setToolTip(tr("A GAN's best pixel error (MSE) by optimisation step, live"));
    m_lossPlot->addGraph();
    m_lossPlot->graph(0)->setPen(QPen(QColor(0xE1, 0x57, 0x59), 1.5));
    m_lossPlot->xAxis->setLabel(tr("step"));
    m_lossPlot->xAxis->ticker()->setTickCount(
        3);  // the plot is narrow: few labels, none overlapping
    m_lossPlot->yAxis->setLabel(tr("best MSE"));
    liveRow->addWidget(m_lossPlot, 1);
    auto* liveColumn = new QVBoxLayout;
    m_live = new ImageView(box);
    m_live->setFixedSize(96, 96);
    m_live->setPlaceholderText(tr("GAN"));
    m_live->setToolTip(tr("A GAN's best image so far while it optimises, then its result"));
    m_liveCaption = new QLabel(box);
    m_liveCaption->setAlignment(Qt::AlignHCenter);
    m_liveCaption->setWordWrap(true);
    m_liveCaption->setMaximumWidth(96);
    m_liveCaption->setToolTip(m_live->toolTip());
    liveColumn->addWidget(m_live);
    liveColumn->addWidget(m_liveCaption);
    liveColumn->addStretch(1);
    liveRow->addLayout(liveColumn);
    form->addRow(liveRow);

    m_status = addStatusLine(form, box);
    return box;
}

QWidget* InversionView::buildResults() {
    auto* scroll = addModelGrid(
        this, {tr("Model"), tr("Reconstruction"), tr("Error"), tr("Codes"), tr("Numbers")},
        &m_grid);

    auto* box = new QGroupBox(tr("Code editor"), this);
    box->setToolTip(tr("Edit a VQ-VAE's code grid and see its decode change"));
    auto* boxLayout = new QVBoxLayout(box);
    boxLayout->setContentsMargins(6, 4, 6, 6);
    m_editor = new CodeGridEditor(box);
    boxLayout->addWidget(m_editor);
    m_editorBox = box;
    box->hide();  // until a VQ-VAE has inverted the image

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(scroll);
    splitter->addWidget(box);
    // The rows come first: at least two of them stay in view when the editor opens.
    scroll->setMinimumHeight(280);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setChildrenCollapsible(false);
    return splitter;
}

void InversionView::setCheckpoints(const QVector<CatalogEntry>& entries) {
    m_entries = entries;
    fillDatasetCombo(m_dataset, entries, canInvert);
    rebuildRows();
    if (m_image.empty()) loadDatasetItem();
    updateButtons();
}

QVector<CatalogEntry> InversionView::invertingModels() const {
    return modelsOfDataset(m_entries, m_dataset->currentText(), canInvert);
}

void InversionView::rebuildRows() {
    for (const Row& row : m_rows)
        for (QWidget* w : std::initializer_list<QWidget*>{row.title, row.reconstruction, row.error,
                                                          row.codes, row.numbers})
            delete w;
    m_rows.clear();
    m_outcomes.clear();
    m_models = invertingModels();
    QWidget* inner = m_grid->parentWidget();
    for (int i = 0; i < m_models.size(); ++i) {
        const CatalogEntry& e = m_models[i];
        Row row;
        row.title = modelRowTitle(e, routeName(inversionRoute(e.capabilities)), inner);
        row.reconstruction = smallView(inner, tr("The model's reconstruction of the input"));
        row.error = smallView(inner, tr("Per-pixel absolute error (brighter: larger; a quarter "
                                        "of the range is full heat)"));
        row.codes = smallView(
            inner, tr("The VQ-VAE's code grid: one colour per code. Click it to edit it below."));
        row.codes->setVisible(e.capabilities.codeGrid);
        row.codes->setCursor(Qt::PointingHandCursor);
        row.codes->installEventFilter(this);
        row.numbers = new QLabel(tr("\u2014"), inner);
        row.numbers->setTextInteractionFlags(Qt::TextSelectableByMouse);
        m_grid->addWidget(row.title, i + 1, 0);
        m_grid->addWidget(row.reconstruction, i + 1, 1);
        m_grid->addWidget(row.error, i + 1, 2);
        m_grid->addWidget(row.codes, i + 1, 3);
        m_grid->addWidget(row.numbers, i + 1, 4);
        m_rows.push_back(row);
    }
    m_outcomes.resize(m_models.size());
    bool editorModelListed = false;
    for (const CatalogEntry& e : m_models) editorModelListed |= e.path == m_editor->checkpoint();
    if (!editorModelListed) m_editorBox->hide();
    if (m_models.isEmpty())
        m_status->setText(tr("No model that can invert is loaded for this dataset."));
}

void InversionView::setImage(const cv::Mat& image) {
    if (image.empty()) return;
    ++m_datasetRequest;  // the latest choice wins over a dataset item still loading
    m_image = image.clone();
    m_input->setImage(
        matToQImage(m_models.isEmpty() ? m_image : fitMatToShape(m_image, m_models[0].shape)));
    m_error.clear();
    invert();
}

bool InversionView::openImageFile(const QString& path) {
    ++m_datasetRequest;  // the user's file wins over a dataset item still loading
    try {
        setImage(readImageFile(path));
        QSettings().setValue(kLastImageKey, QFileInfo(path).absoluteFilePath());
        return true;
    } catch (const std::exception& e) {
        showError(QString::fromUtf8(e.what()));
        return false;
    }
}

void InversionView::chooseImageFile() {
    const QString path = askForImageFile(this, tr("Open an image to invert"), kLastImageKey);
    if (!path.isEmpty()) openImageFile(path);
}

void InversionView::generateFace() {
    const int size = m_models.isEmpty() ? 32 : int(m_models[0].shape.height);
    setImage(renderFace(FaceFactors::random(quint64(1000 + m_faceSeed++)), size));
}

void InversionView::loadDatasetItem() {
    const QString dataset = m_dataset->currentText();
    if (dataset.isEmpty()) return;
    const int index = m_item->value();
    const int request = ++m_datasetRequest;
    QPointer<InversionView> self(this);
    QThreadPool::globalInstance()->start([self, dataset, index, request] {
        cv::Mat image;
        QString error;
        try {
            image = DatasetCache::instance().item(dataset, index);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(qApp, [self, image, error, request] {
            if (!self || request != self->m_datasetRequest) return;
            if (!error.isEmpty())
                self->showError(error);
            else
                self->setImage(image);
        });
    });
}

void InversionView::invert() {
    if (m_image.empty() || m_models.isEmpty()) return;
    InversionRequest request;
    for (const CatalogEntry& e : m_models) request.checkpoints << e.path;
    request.image = m_image;
    request.optimisationSteps = m_steps->value();
    request.starts = m_starts->value();
    m_outcomes.fill(InversionOutcome());
    for (Row& row : m_rows) row.numbers->setText(tr("\u2026"));
    m_lossPlot->graph(0)->data()->clear();
    m_lossPlot->replot(QCustomPlot::rpQueuedReplot);
    m_live->setImage({});
    m_liveCaption->clear();
    m_progress->setRange(0, m_models.size());
    m_progress->setValue(0);
    m_status->setText(tr("Inverting with %n model(s)\u2026", nullptr, m_models.size()));
    m_running = true;
    m_generation = m_job.begin(request);
    updateButtons();
}

void InversionView::cancel() {
    if (m_running) m_job.cancel();
}

void InversionView::onProgress(quint64 generation, int modelIndex, qint64 step, qint64 total,
                               double best) {
    if (generation != m_generation || total <= 1) return;
    m_progress->setRange(0, int(total));
    m_progress->setValue(int(step));
    m_progress->setFormat(tr("%1: step %v / %m").arg(familyTitle(m_models[modelIndex].family)));
    if (std::isfinite(best)) {
        m_lossPlot->graph(0)->addData(double(step), best);
        m_lossPlot->rescaleAxes();
        m_lossPlot->replot(QCustomPlot::rpQueuedReplot);
    }
}

void InversionView::onLive(quint64 generation, int modelIndex, const InversionLive& live) {
    if (generation != m_generation || modelIndex >= m_rows.size()) return;
    const QImage image = matToQImage(live.image);
    m_live->setImage(image);
    m_liveCaption->setText(tr("step %1 / %2\nMSE %3")
                               .arg(live.step)
                               .arg(live.totalSteps)
                               .arg(QString::number(live.bestError, 'f', 4)));
    Row& row = m_rows[modelIndex];
    row.reconstruction->setOverlayText({});
    row.reconstruction->setImage(image);
    emit liveImageShown(live.step);
}

void InversionView::editCodesOfRow(int row) {
    if (row < 0 || row >= m_outcomes.size()) return;
    const InversionOutcome& o = m_outcomes[row];
    if (o.codes.isEmpty() || !o.error.isEmpty()) return;
    m_editor->setGrid(o.checkpointPath, familyTitle(o.family), o.codeRows, o.codeCols, o.codes,
                      o.reconstruction, o.codeLevels);
    m_editorBox->setTitle(tr("Code editor: %1 (%2)")
                              .arg(familyTitle(o.family), QFileInfo(o.checkpointPath).fileName()));
    m_editorBox->show();
    if (!m_pendingEditCheckpoint.isEmpty() && sameFile(m_pendingEditCheckpoint, o.checkpointPath)) {
        m_pendingEditCheckpoint.clear();
        if (!m_editor->applyEdit(m_pendingEditCodes))
            showError(tr("The workspace's edited code grid does not fit %1's grid")
                          .arg(QFileInfo(o.checkpointPath).fileName()));
    }
}

QJsonObject InversionView::workspaceState(const WorkspaceContext& context) const {
    QJsonObject state{{"dataset", m_dataset->currentText()},
                      {"item", m_item->value()},
                      {"gan_steps", m_steps->value()},
                      {"gan_starts", m_starts->value()},
                      {"image", WorkspaceContext::imageToJson(m_image)}};
    if (!m_editor->checkpoint().isEmpty() && !m_editorBox->isHidden())
        state.insert(QStringLiteral("code_edit"),
                     QJsonObject{{"checkpoint", context.fileRef(m_editor->checkpoint())},
                                 {"codes", toJsonArray(m_editor->codes())}});
    return state;
}

void InversionView::restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context) {
    {
        const QSignalBlocker blockDataset(m_dataset), blockItem(m_item);
        restoreComboText(m_dataset, state.value(QStringLiteral("dataset")), context,
                         tr("Inversion dataset"));
        restoreValue(m_item, state.value(QStringLiteral("item")));
    }
    restoreValue(m_steps, state.value(QStringLiteral("gan_steps")));
    restoreValue(m_starts, state.value(QStringLiteral("gan_starts")));
    rebuildRows();
    const QJsonObject edit = state.value(QStringLiteral("code_edit")).toObject();
    m_pendingEditCheckpoint = edit.isEmpty()
                                  ? QString()
                                  : context.resolveFile(edit.value(QStringLiteral("checkpoint")),
                                                        tr("Inversion code editor model"));
    m_pendingEditCodes = intsFromJson(edit.value(QStringLiteral("codes")));
    const cv::Mat image =
        context.imageFromJson(state.value(QStringLiteral("image")), tr("Inversion image"));
    if (image.empty())
        loadDatasetItem();
    else
        setImage(image);
    updateButtons();
}

bool InversionView::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::MouseButtonPress)
        for (int i = 0; i < m_rows.size(); ++i)
            if (watched == m_rows[i].codes) {
                editCodesOfRow(i);
                return true;
            }
    return QWidget::eventFilter(watched, event);
}

void InversionView::onOutcome(quint64 generation, int modelIndex, const InversionOutcome& outcome) {
    if (generation != m_generation || modelIndex >= m_rows.size()) return;
    m_outcomes[modelIndex] = outcome;
    Row& row = m_rows[modelIndex];
    if (!outcome.error.isEmpty()) {
        row.reconstruction->setImage({});
        row.reconstruction->setOverlayText(tr("failed"));
        row.numbers->setText(outcome.error);
        return;
    }
    if (modelIndex == 0) m_input->setImage(matToQImage(outcome.input));
    row.reconstruction->setOverlayText({});
    row.reconstruction->setImage(matToQImage(outcome.reconstruction));
    row.error->setImage(matToQImage(outcome.errorMap));
    row.codes->setImage(matToQImage(outcome.codeGrid));
    if (outcome.method == QLatin1String("optimisation")) {
        m_live->setImage(row.reconstruction->image());
        m_liveCaption->setText(tr("result: MSE %1").arg(QString::number(outcome.mse, 'f', 4)));
    }
    // The editor follows the row it edits (the first VQ-VAE's unless one was clicked).
    if (!outcome.codes.isEmpty()) {
        bool editingAnotherRow = false;
        for (const CatalogEntry& e : m_models)
            editingAnotherRow |= e.path == m_editor->checkpoint();
        if (m_editor->checkpoint() == outcome.checkpointPath || !editingAnotherRow ||
            m_editorBox->isHidden())
            editCodesOfRow(modelIndex);
    }
    QString numbers = tr("MSE %1\nsharpness %2 (input %3)\n%4 ms")
                          .arg(QString::number(outcome.mse, 'f', 4))
                          .arg(QString::number(outcome.sharpness, 'f', 0))
                          .arg(QString::number(outcome.inputSharpness, 'f', 0))
                          .arg(QString::number(outcome.ms, 'f', 1));
    if (outcome.steps > 0) numbers += tr("\n%1 steps").arg(outcome.steps);
    if (outcome.cancelled) numbers += tr(" (cancelled: best so far)");
    row.numbers->setText(numbers);
    m_progress->setFormat(QStringLiteral("%p%"));
    m_progress->setRange(0, m_models.size());
    m_progress->setValue(modelIndex + 1);
}

void InversionView::onFinished(quint64 generation, bool cancelled, const QString& error) {
    if (generation != m_generation) return;
    m_running = false;
    m_status->setText(!error.isEmpty() ? error : cancelled ? tr("Cancelled.") : tr("Done."));
    updateButtons();
    emit inversionFinished(cancelled);
}

void InversionView::showError(const QString& message) {
    m_error = message;
    m_status->setText(message);
}

void InversionView::updateButtons() {
    m_invert->setEnabled(!m_models.isEmpty() && !m_image.empty());
    m_cancel->setEnabled(m_running);
}

void InversionView::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() || event->mimeData()->hasImage())
        event->acceptProposedAction();
}

void InversionView::dropEvent(QDropEvent* event) {
    const QMimeData* mime = event->mimeData();
    if (mime->hasImage()) {
        setImage(qImageToMat(qvariant_cast<QImage>(mime->imageData())));
    } else {
        for (const QUrl& url : mime->urls())
            if (url.isLocalFile()) {
                openImageFile(url.toLocalFile());
                break;
            }
    }
    event->acceptProposedAction();
}

}  // namespace le
