#pragma once

#include "core/interactive/engine.h"
#include "core/storage/model_catalog.h"
#include "core/interactive/worker.h"
#include "core/storage/workspace.h"

#include <QMainWindow>
#include <QString>

class QLabel;
class QMenu;
class QTabWidget;

namespace le {

class AutoregressiveView;
class CompareView;
class InterpolationView;
class TrainingView;
class InversionView;
class LatentMapView;
class TemperatureView;

// The application window: tabs (the latent map first), a File menu, and a status bar with the
// model, its device and the last decode time. Owns the interactive worker's thread; widgets reach
// the worker only through its thread-safe requests and queued signals.
class MainWindow final : public QMainWindow {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    // device: "auto", "cpu", "cuda" or "cuda:N", used for every checkpoint this window opens.
    explicit MainWindow(const QString& device = QStringLiteral("auto"), QWidget* parent = nullptr);
    ~MainWindow() override;

    // Asks the worker to load a checkpoint; the answer arrives as modelReady or errorShown.
    void openCheckpoint(const QString& path);
    // Where the Open dialog starts when no checkpoint has been opened yet.
    void setCheckpointDirectory(const QString& dir) { m_checkpointDir = dir; }
    // Shows a problem in the status bar (and over the image while no model is loaded).
    void showError(const QString& message);
    // Folders whose generative checkpoints the views offer (the shipped models, the user's own);
    // scanned by header now and again whenever a checkpoint is opened.
    void setModelDirectories(const QStringList& dirs);
    // The user's folder (--data-dir, else the application data folder): runs/ holds the training
    // runs, whose checkpoints the views offer too.
    void setDataDirectory(const QString& dir);
    const QVector<CatalogEntry>& catalog() const { return m_catalog; }
    // Shows the tab by its name: map, inversion, interpolation, autoregressive, compare,
    // temperature, training
    // (also used by --view).
    bool showView(const QString& name);
    // The object name of the tab shown (map, inversion, ...).
    QString currentViewName() const;

    // Workspaces: the whole state (the models opened, the map's model and point, every view's
    // controls, images, masks, endpoints and branches) in one file. Saving writes atomically;
    // opening checks the whole file before it changes anything, then restores what it can and
    // lists what it could not (a model that is gone) in the status bar. Both return false with
    // the reason shown (and in lastError) when the file cannot be written or read.
    bool saveWorkspace(const QString& path);
    bool openWorkspace(const QString& path);
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    QString workspacePath() const { return m_workspacePath; }
    // What the last opened workspace could not restore.
    QStringList workspaceWarnings() const { return m_workspaceWarnings; }
    // True while a checkpoint is being loaded for the map or one is shown.
    bool hasOrAwaitsModel() const { return m_hasModel || !m_pendingPath.isEmpty(); }

    bool hasModel() const { return m_hasModel; }
    ModelInfo modelInfo() const { return m_info; }
    LatentMapView* latentMapView() const { return m_latentMap; }
    AutoregressiveView* autoregressiveView() const { return m_autoregressive; }
    InversionView* inversionView() const { return m_inversion; }
    InterpolationView* interpolationView() const { return m_interpolation; }
    CompareView* compareView() const { return m_compare; }
    TemperatureView* temperatureView() const { return m_temperature; }
    TrainingView* trainingView() const { return m_training; }
    QTabWidget* tabs() const { return m_tabs; }
    // Everything the status bar says, joined by " | " (for tests and the screenshot mode).
    QString statusText() const;
    QString lastError() const { return m_lastError; }

signals:
    void modelReady();
    // Once per loaded model, when its first decoded image is on screen.
    void firstImageShown();
    void errorShown(const QString& message);
    void workspaceOpened(const QString& path);
    void workspaceSaved(const QString& path);

protected:
    void closeEvent(QCloseEvent* event) override;
    // Images dropped anywhere on the window go to the Inversion tab.
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildMenus();
    void buildStatusBar();
    void chooseCheckpoint();
    void chooseWorkspaceToOpen();
    void chooseWorkspaceToSave();
    void rememberWorkspace(const QString& path);
    void fillRecentWorkspaces();
    void updateTitle();
    void onModelLoaded(const ModelInfo& info, const LatentMap& map);
    void onDecoded(const DecodeResult& result);
    void showMessage(const QString& text, bool isError);
    void rescanCatalog();

    QString m_device;
    QString m_checkpointDir;
    QString m_pendingPath;
    ModelInfo m_info;
    bool m_hasModel = false;
    bool m_waitingForFirstImage = false;
    QString m_lastError;
    QString m_workspacePath;
    QStringList m_workspaceWarnings;
    QMenu* m_recentWorkspaces = nullptr;

    QTabWidget* m_tabs = nullptr;
    LatentMapView* m_latentMap = nullptr;
    AutoregressiveView* m_autoregressive = nullptr;
    InversionView* m_inversion = nullptr;
    InterpolationView* m_interpolation = nullptr;
    CompareView* m_compare = nullptr;
    TemperatureView* m_temperature = nullptr;
    TrainingView* m_training = nullptr;
    QStringList m_modelDirs;
    QStringList m_openedFiles;
    QVector<CatalogEntry> m_catalog;
    QLabel* m_messageLabel = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_decodeLabel = nullptr;

    // Last member: destroyed first, so the worker stops before any widget goes away.
    WorkerThread m_workerThread;
};

}  // namespace le
