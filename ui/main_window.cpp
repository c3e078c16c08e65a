#include "ui/main_window.h"

#include "core/storage/checkpoint.h"

#include "ui/views/autoregressive_view.h"
#include "ui/views/compare_view.h"
#include "ui/views/interpolation_view.h"
#include "ui/views/inversion_view.h"
#include "ui/views/latent_map_view.h"
#include "ui/views/temperature_view.h"
#include "ui/views/training_view.h"
#include "ui/workspace_state.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QJsonArray>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

namespace le {

namespace {

const char* const kGeometryKey = "mainWindow/geometry";
const char* const kStateKey = "mainWindow/state";
const char* const kLastDirKey = "mainWindow/lastCheckpointDir";
const char* const kOpenedFilesKey = "mainWindow/openedCheckpoints";
const char* const kTabKey = "mainWindow/view";
const char* const kRecentWorkspacesKey = "mainWindow/recentWorkspaces";
const char* const kLastWorkspaceDirKey = "mainWindow/lastWorkspaceDir";
constexpr int kMaxRecentWorkspaces = 8;

QString workspaceFilter() {
    return QObject::tr("Latent Explorer workspaces (*.%1);;All files (*)")
        .arg(QLatin1String(kWorkspaceSuffix));
}

bool isWorkspaceFile(const QString& path) {
    return QFileInfo(path).suffix().compare(QLatin1String(kWorkspaceSuffix), Qt::CaseInsensitive) ==
           0;
}

}  // namespace

MainWindow::MainWindow(const QString& device, QWidget* parent)
    : QMainWindow(parent), m_device(device) {
    registerCoreMetaTypes();
    setWindowTitle(tr("Latent Explorer"));
    setMinimumSize(1000, 640);

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_latentMap = new LatentMapView(m_tabs);
    m_tabs->addTab(m_latentMap, tr("Latent map"));
    m_tabs->setTabToolTip(0, tr("Walk through the model's latent space and watch the decoder."));
    m_latentMap->setObjectName(QStringLiteral("map"));
    m_inversion = new InversionView(m_tabs);
    m_inversion->setObjectName(QStringLiteral("inversion"));
    m_tabs->addTab(m_inversion, tr("Inversion"));
    m_tabs->setTabToolTip(1, tr("Invert an image with every model that can, side by side with "
                                "its error."));
    m_interpolation = new InterpolationView(m_tabs);
    m_interpolation->setObjectName(QStringLiteral("interpolation"));
    m_tabs->addTab(m_interpolation, tr("Interpolation"));
    m_tabs->setTabToolTip(m_tabs->count() - 1,
                          tr("Walk from one image to another through each model's latent space."));
    m_autoregressive = new AutoregressiveView(m_tabs);
    m_autoregressive->setObjectName(QStringLiteral("autoregressive"));
    m_tabs->addTab(m_autoregressive, tr("Autoregressive"));
    m_tabs->setTabToolTip(m_tabs->count() - 1,
                          tr("Watch a PixelCNN or a VQ-VAE prior fill an image position by "
                             "position, or complete a half-hidden one."));
    m_compare = new CompareView(m_tabs);
    m_compare->setObjectName(QStringLiteral("compare"));
    m_tabs->addTab(m_compare, tr("Compare"));
    m_tabs->setTabToolTip(m_tabs->count() - 1,
                          tr("Blurrier or sharper: every model's samples against the data, in "
                             "numbers and spectra."));
    m_temperature = new TemperatureView(m_tabs);
    m_temperature->setObjectName(QStringLiteral("temperature"));
    m_tabs->addTab(m_temperature, tr("Temperature"));
    m_tabs->setTabToolTip(m_tabs->count() - 1,
                          tr("One temperature for every family: the same seed re-sampled as T "
                             "moves, or swept from 0.25 to 1.25."));
    m_training = new TrainingView(m_tabs);
    m_training->setObjectName(QStringLiteral("training"));
    m_tabs->addTab(m_training, tr("Training"));
    m_tabs->setTabToolTip(m_tabs->count() - 1,
                          tr("Train a model in the background and watch its losses and samples."));
    connect(m_training, &TrainingView::checkpointAvailable, this,
            [this](const QString& path, bool open) {
                if (open) {
                    openCheckpoint(path);
                    m_tabs->setCurrentWidget(m_latentMap);
                } else {
                    rescanCatalog();
                }
            });
    setAcceptDrops(true);
    setCentralWidget(m_tabs);

    buildMenus();
    buildStatusBar();

    InteractiveWorker* worker = m_workerThread.worker();
    connect(m_latentMap, &LatentMapView::decodeRequested, this,
            [worker](quint64 id, const QVector<float>& latent) {
                worker->requestDecode(id, latent);  // thread-safe; latest request wins
            });
    connect(worker, &InteractiveWorker::modelLoaded, this, &MainWindow::onModelLoaded,
            Qt::QueuedConnection);
    connect(worker, &InteractiveWorker::decoded, this, &MainWindow::onDecoded,
            Qt::QueuedConnection);
    connect(worker, &InteractiveWorker::failed, this, &MainWindow::showError, Qt::QueuedConnection);
    // The likelihood meter: scores trail their image; the view keeps only those of the image shown.
    connect(worker, &InteractiveWorker::scored, m_latentMap, &LatentMapView::showScores,
            Qt::QueuedConnection);

    QSettings settings;
    if (!restoreGeometry(settings.value(kGeometryKey).toByteArray())) resize(1180, 720);
    restoreState(settings.value(kStateKey).toByteArray());
    m_checkpointDir = settings.value(kLastDirKey).toString();
    for (const QString& path : settings.value(kOpenedFilesKey).toStringList())
        if (QFileInfo(path).isFile()) m_openedFiles << path;
    showView(settings.value(kTabKey).toString());  // by name: new tabs do not shift it
    updateTitle();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open =
        file->addAction(tr("&Open checkpoint\u2026"), this, &MainWindow::chooseCheckpoint);
    open->setShortcut(QKeySequence::Open);
    open->setStatusTip(tr("Load a model checkpoint (.lec) or a TorchScript model (.pt)"));
    file->addSeparator();
    QAction* openWorkspace =
        file->addAction(tr("Open &workspace\u2026"), this, &MainWindow::chooseWorkspaceToOpen);
    openWorkspace->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O));
    openWorkspace->setStatusTip(
        tr("Reopen a saved state: models, points, images, masks, endpoints, branches (.lew)"));
    m_recentWorkspaces = file->addMenu(tr("Recent workspaces"));
    connect(m_recentWorkspaces, &QMenu::aboutToShow, this, &MainWindow::fillRecentWorkspaces);
    fillRecentWorkspaces();
    QAction* save = file->addAction(tr("&Save workspace"), this, [this] {
        if (m_workspacePath.isEmpty())
            chooseWorkspaceToSave();
        else
            saveWorkspace(m_workspacePath);
    });
    save->setShortcut(QKeySequence::Save);
    save->setStatusTip(tr("Save the whole state of every view in one file"));
    QAction* saveAs =
        file->addAction(tr("Save workspace &as\u2026"), this, &MainWindow::chooseWorkspaceToSave);
    saveAs->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_S));
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Latent Explorer"), this, [this] {
        QMessageBox::about(
            this, tr("About Latent Explorer"),
            tr("<h3>Latent Explorer %1</h3><p>See how generative models think: drag through a "
               "model's latent space and watch what its decoder draws.</p>")
                .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::buildStatusBar() {
    m_messageLabel =
        new QLabel(tr("No model loaded \u2014 File \u203a Open checkpoint\u2026"), this);
    m_messageLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // A long error is clipped (its tooltip has it all) rather than widening the window.
    m_messageLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_modelLabel = new QLabel(this);
    m_modelLabel->setToolTip(tr("Model family, training data and training steps"));
    m_decodeLabel = new QLabel(this);
    m_decodeLabel->setToolTip(
        tr("Where the model runs (--device auto|cpu|cuda) and the time the "
           "worker took for the last decode, model and conversion"));
    for (QLabel* label : {m_messageLabel, m_modelLabel, m_decodeLabel})
        label->setContentsMargins(6, 0, 6, 0);
    statusBar()->addWidget(m_messageLabel, 1);
    statusBar()->addPermanentWidget(m_modelLabel);
    statusBar()->addPermanentWidget(m_decodeLabel);
    statusBar()->setSizeGripEnabled(true);
}

void MainWindow::chooseCheckpoint() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open checkpoint"), m_checkpointDir,
        tr("Models (%1);;All files (*)").arg(modelFileFilters().join(' ')));
    if (!path.isEmpty()) openCheckpoint(path);
}

void MainWindow::chooseWorkspaceToOpen() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open workspace"), QSettings().value(kLastWorkspaceDirKey).toString(),
        workspaceFilter());
    if (!path.isEmpty() && !openWorkspace(path))
        QMessageBox::warning(this, tr("Open workspace"), m_lastError);
}

void MainWindow::chooseWorkspaceToSave() {
    QString start = m_workspacePath;
    if (start.isEmpty())
        start = QDir(QSettings().value(kLastWorkspaceDirKey).toString())
                    .filePath(QStringLiteral("workspace.%1").arg(QLatin1String(kWorkspaceSuffix)));
    QString path =
        QFileDialog::getSaveFileName(this, tr("Save workspace"), start, workspaceFilter());
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty())
        path += QLatin1Char('.') + QLatin1String(kWorkspaceSuffix);
    if (!saveWorkspace(path)) QMessageBox::warning(this, tr("Save workspace"), m_lastError);
}

QJsonObject MainWindow::workspaceState(const WorkspaceContext& context) const {
    QJsonArray opened;
    for (const QString& path : m_openedFiles) opened.append(context.fileRef(path));
    const QJsonObject views{{"map", m_latentMap->workspaceState(context)},
                            {"inversion", m_inversion->workspaceState(context)},
                            {"interpolation", m_interpolation->workspaceState(context)},
                            {"autoregressive", m_autoregressive->workspaceState(context)},
                            {"compare", m_compare->workspaceState(context)},
                            {"temperature", m_temperature->workspaceState(context)},
                            {"training", m_training->workspaceState(context)}};
    return {{"window", QJsonObject{{"view", currentViewName()}}},
            {"models", QJsonObject{{"opened", opened}}},
            {"views", views}};
}

bool MainWindow::saveWorkspace(const QString& path) {
    try {
        saveWorkspaceFile(path, workspaceState(WorkspaceContext(path)));
    } catch (const std::exception& e) {
        showMessage(QString::fromUtf8(e.what()), true);
        emit errorShown(m_lastError);
        return false;
    }
    m_workspacePath = QFileInfo(path).absoluteFilePath();
    rememberWorkspace(m_workspacePath);
    updateTitle();
    showMessage(tr("Saved workspace %1").arg(QFileInfo(path).fileName()), false);
    emit workspaceSaved(m_workspacePath);
    return true;
}

bool MainWindow::openWorkspace(const QString& path) {
    QJsonObject root;
    try {
        root = loadWorkspaceFile(path);  // all checks before anything changes
    } catch (const std::exception& e) {
        showMessage(QString::fromUtf8(e.what()), true);
        emit errorShown(m_lastError);
        return false;
    }
    WorkspaceContext context(path, m_modelDirs);
    // The models first: every view offers what the catalog lists.
    for (const QJsonValue& ref : root.value(QStringLiteral("models"))
                                     .toObject()
                                     .value(QStringLiteral("opened"))
                                     .toArray()) {
        const QString model = context.resolveFile(ref, tr("Opened model"));
        if (!model.isEmpty() && !m_openedFiles.contains(model)) m_openedFiles << model;
    }
    rescanCatalog();

    const QJsonObject views = root.value(QStringLiteral("views")).toObject();
    auto view = [&views](const char* name) { return views.value(QLatin1String(name)).toObject(); };
    const QString mapModel = m_latentMap->restoreWorkspaceState(view("map"), context);
    if (!mapModel.isEmpty() && !(m_hasModel && sameFile(mapModel, m_info.checkpointPath)))
        openCheckpoint(mapModel);
    m_inversion->restoreWorkspaceState(view("inversion"), context);
    m_interpolation->restoreWorkspaceState(view("interpolation"), context);
    m_autoregressive->restoreWorkspaceState(view("autoregressive"), context);
    m_compare->restoreWorkspaceState(view("compare"), context);
    m_temperature->restoreWorkspaceState(view("temperature"), context);
    m_training->restoreWorkspaceState(view("training"), context);
    showView(
        root.value(QStringLiteral("window")).toObject().value(QStringLiteral("view")).toString());

    m_workspacePath = QFileInfo(path).absoluteFilePath();
    m_workspaceWarnings = context.warnings();
    rememberWorkspace(m_workspacePath);
    updateTitle();
    const QString name = QFileInfo(path).fileName();
    if (m_workspaceWarnings.isEmpty()) {
        showMessage(tr("Opened workspace %1").arg(name), false);
    } else {
        showMessage(tr("Opened workspace %1, but not everything: %2")
                        .arg(name, m_workspaceWarnings.join(QStringLiteral("; "))),
                    true);
    }
    emit workspaceOpened(m_workspacePath);
    return true;
}

void MainWindow::rememberWorkspace(const QString& path) {
    QSettings settings;
    QStringList recent = settings.value(kRecentWorkspacesKey).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecentWorkspaces) recent.removeLast();
    settings.setValue(kRecentWorkspacesKey, recent);
    settings.setValue(kLastWorkspaceDirKey, QFileInfo(path).absolutePath());
}

void MainWindow::fillRecentWorkspaces() {
    m_recentWorkspaces->clear();
    int shown = 0;
    for (const QString& path : QSettings().value(kRecentWorkspacesKey).toStringList()) {
        if (!QFileInfo(path).isFile()) continue;
        QAction* action = m_recentWorkspaces->addAction(
            QStringLiteral("&%1 %2").arg(++shown).arg(QFileInfo(path).fileName()), this,
            [this, path] {
                if (!openWorkspace(path))
                    QMessageBox::warning(this, tr("Open workspace"), m_lastError);
            });
        action->setStatusTip(path);
    }
    m_recentWorkspaces->setEnabled(shown > 0);
}

void MainWindow::updateTitle() {
    QStringList parts;
    if (!m_workspacePath.isEmpty()) parts << QFileInfo(m_workspacePath).fileName();
    if (m_hasModel) parts << QFileInfo(m_info.checkpointPath).fileName();
    parts << tr("Latent Explorer");
    setWindowTitle(parts.join(QStringLiteral(" \u2014 ")));
}

void MainWindow::setModelDirectories(const QStringList& dirs) {
    m_modelDirs = dirs;
    rescanCatalog();
}

void MainWindow::setDataDirectory(const QString& dir) {
    m_training->setRunsDirectory(QDir(dir).filePath(QStringLiteral("runs")));
    rescanCatalog();
}

void MainWindow::rescanCatalog() {
    m_catalog = scanCheckpoints(m_modelDirs, m_openedFiles + m_training->runCheckpoints());
    QStringList scoring;  // the worker picks those of the map's dataset with a likelihood
    for (const CatalogEntry& entry : m_catalog) scoring << entry.path;
    m_workerThread.worker()->setScoringCheckpoints(scoring);
    m_autoregressive->setCheckpoints(m_catalog);
    m_inversion->setCheckpoints(m_catalog);
    m_interpolation->setCheckpoints(m_catalog);
    m_compare->setCheckpoints(m_catalog);
    m_temperature->setCheckpoints(m_catalog);
}

QString MainWindow::currentViewName() const {
    return m_tabs->currentWidget() ? m_tabs->currentWidget()->objectName() : QString();
}

bool MainWindow::showView(const QString& name) {
    for (int i = 0; i < m_tabs->count(); ++i)
        if (m_tabs->widget(i)->objectName() == name) {
            m_tabs->setCurrentIndex(i);
            return true;
        }
    return false;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls() || event->mimeData()->hasImage())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls[0].isLocalFile() && isWorkspaceFile(urls[0].toLocalFile())) {
        event->acceptProposedAction();
        openWorkspace(urls[0].toLocalFile());
        return;
    }
    m_tabs->setCurrentWidget(m_inversion);
    QApplication::sendEvent(m_inversion, event);
}

void MainWindow::openCheckpoint(const QString& path) {
    if (!m_openedFiles.contains(path)) {
        m_openedFiles << path;
        rescanCatalog();
    }
    m_pendingPath = path;
    m_checkpointDir = QFileInfo(path).absolutePath();
    showMessage(tr("Loading %1 and encoding its test set\u2026").arg(QFileInfo(path).fileName()),
                false);
    m_workerThread.worker()->requestLoad(path, m_device);
}

void MainWindow::onModelLoaded(const ModelInfo& info, const LatentMap& map) {
    m_info = info;
    m_hasModel = true;
    m_pendingPath.clear();
    m_lastError.clear();
    m_waitingForFirstImage = true;
    const QString file = QFileInfo(info.checkpointPath).fileName();
    updateTitle();
    m_modelLabel->setText(tr("%1 \u00b7 %2 \u00b7 %3 steps")
                              .arg(familyTitle(info.family), info.dataset,
                                   QLocale().toString(static_cast<qlonglong>(info.steps))));
    m_decodeLabel->setText(tr("on %1").arg(info.device));
    showMessage(tr("%1: latent size %2, %3 points on the map")
                    .arg(file)
                    .arg(info.latentDim)
                    .arg(map.x.size()),
                false);
    emit modelReady();
    m_latentMap->setModel(info, map);  // emits the first decode request
}

void MainWindow::onDecoded(const DecodeResult& result) {
    if (!m_latentMap->showResult(result)) return;  // stale
    if (!result.error.isEmpty()) {
        showMessage(tr("Decode failed: %1").arg(result.error), true);
        emit errorShown(result.error);
        return;
    }
    m_decodeLabel->setText(
        tr("decode %1 ms on %2").arg(QString::number(result.decodeMs, 'f', 1), m_info.device));
    if (!m_lastError.isEmpty()) {
        m_lastError.clear();
        showMessage(QFileInfo(m_info.checkpointPath).fileName(), false);
    }
    if (m_waitingForFirstImage) {
        m_waitingForFirstImage = false;
        emit firstImageShown();
    }
}

void MainWindow::showError(const QString& message) {
    m_pendingPath.clear();  // a load that failed is no longer awaited
    showMessage(message, true);
    if (!m_hasModel) m_latentMap->showError(message);
    emit errorShown(message);
}

void MainWindow::showMessage(const QString& text, bool isError) {
    if (isError) m_lastError = text;
    m_messageLabel->setText(text);
    m_messageLabel->setToolTip(text);
    m_messageLabel->setStyleSheet(isError ? QStringLiteral("color: #b3261e; font-weight: bold;")
                                          : QString());
}

QString MainWindow::statusText() const {
    QStringList parts;
    for (const QLabel* label : {m_messageLabel, m_modelLabel, m_decodeLabel})
        if (!label->text().isEmpty()) parts << label->text();
    return parts.join(QStringLiteral(" | "));
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
    if (!m_checkpointDir.isEmpty()) settings.setValue(kLastDirKey, m_checkpointDir);
    settings.setValue(kOpenedFilesKey, m_openedFiles);
    settings.setValue(kTabKey, currentViewName());
    QMainWindow::closeEvent(event);
}

}  // namespace le
