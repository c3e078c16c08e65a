#pragma once

#include "core/training/training_job.h"

#include <QJsonObject>
#include <QMap>
#include <QWidget>

class QCPAxisRect;
class QCPGraph;
class QCPLayoutGrid;
class QCPMarginGroup;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QListWidgetItem;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace le {

class ImageView;
class WorkspaceContext;

// The "Training" tab: a form that starts a run in a background thread (core/training_job.h), a
// progress bar with ETA, pause, resume and stop; the loss curves of every ticked run overlaid with
// a legend or as small multiples (by step or wall time, smoothed), the latest sample snapshot;
// every run kept in its folder under the runs directory and listed again after a restart. A
// finished run's checkpoint opens in the other views with one click.
class TrainingView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrainingView)

public:
    explicit TrainingView(QWidget* parent = nullptr);
    ~TrainingView() override;

    // Where runs live (a folder per run); the runs already there are listed.
    void setRunsDirectory(const QString& dir);
    QString runsDirectory() const { return m_runsDir; }
    TrainingSpec specFromForm() const;
    void start();
    void setPaused(bool paused);
    void stop();
    // Asks to open the selected run's checkpoint in the other views.
    void openSelected();

    bool isTraining() const { return m_job.isRunning() || !m_activeRun.isEmpty(); }
    QString activeRun() const { return m_activeRun; }
    QVector<RunRecord> runs() const;
    // Checkpoints of runs that have one (finished, stopped or diverged with a good state kept).
    QStringList runCheckpoints() const;
    QString statusText() const;

    QComboBox* familyCombo() const { return m_family; }
    QComboBox* datasetCombo() const { return m_dataset; }
    QSpinBox* latentSpin() const { return m_latent; }
    QSpinBox* stepsSpin() const { return m_steps; }
    QSpinBox* batchSpin() const { return m_batch; }
    QDoubleSpinBox* learningRateSpin() const { return m_lr; }
    QSpinBox* seedSpin() const { return m_seed; }
    QComboBox* deviceCombo() const { return m_device; }
    QLineEdit* optionsEdit() const { return m_options; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* pauseButton() const { return m_pause; }
    QPushButton* stopButton() const { return m_stop; }
    QPushButton* openButton() const { return m_open; }
    QProgressBar* progressBar() const { return m_progress; }
    QCustomPlot* lossPlot() const { return m_plot; }
    QListWidget* runList() const { return m_list; }
    ImageView* snapshotView() const { return m_snapshot; }
    QComboBox* axisCombo() const { return m_axis; }
    QSlider* smoothingSlider() const { return m_smoothing; }
    QComboBox* layoutCombo() const { return m_layout; }
    bool showsSmallMultiples() const;
    // The run's curve in whichever axis rect draws it (its own panel as small multiples).
    QCPGraph* graphFor(const QString& runDir) const;
    // Axis rects that draw at least one ticked run: 1 overlaid, one per ticked run as multiples.
    int curvePanelCount() const;

    // Workspace: the form, the plot's axis, smoothing and layout, which runs are ticked and which
    // is selected.
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    // Replaces those from a workspace (unknown runs become warnings in the context); starts
    // nothing.
    void restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context);

signals:
    void runFinished(const QString& status);
    // A run's checkpoint was asked for in the other views (also emitted when a run ends with one,
    // with `open` false, so that the model catalog lists it).
    void checkpointAvailable(const QString& path, bool open);

private:
    struct Run {
        RunRecord record;
        QListWidgetItem* item = nullptr;
        QCPGraph* graph = nullptr;       // on the overlaid plot
        QCPGraph* panelGraph = nullptr;  // on its own panel, while small multiples show it
    };

    QWidget* buildForm();
    QWidget* buildRunList();
    QWidget* buildMonitor();
    void addRun(const RunRecord& record);
    void updateRunItem(Run& run);
    void redrawCurves();
    QStringList tickedRuns() const;
    void setCurve(Run& run, bool shown, bool byTime, double alpha);
    void showOverlaid();
    void showPanels(const QStringList& runDirs);
    void addPanel(Run& run, QCPLayoutGrid* cell, bool leftColumn);
    void removePanels();
    void fitPanelRanges();
    QString runFor(const QJsonValue& ref, const WorkspaceContext& context) const;
    void restoreRuns(const QJsonObject& state, WorkspaceContext& context);
    void showSelected();
    void onProgress(const QString& runDir, qint64 step, qint64 total, double seconds,
                    const QVector<LossPoint>& points);
    void onSnapshot(const QString& runDir, qint64 step, const cv::Mat& grid);
    void onFinished(const QString& runDir, const QString& status, const QString& message,
                    const QString& checkpoint);
    void updateButtons();
    void showStatus(const QString& text, bool error);
    Run* selectedRun();

    TrainingJob m_job;
    QString m_runsDir;
    QString m_activeRun;
    QMap<QString, Run> m_runs;  // by folder

    QComboBox* m_family = nullptr;
    QComboBox* m_dataset = nullptr;
    QSpinBox* m_latent = nullptr;
    QSpinBox* m_steps = nullptr;
    QSpinBox* m_batch = nullptr;
    QDoubleSpinBox* m_lr = nullptr;
    QSpinBox* m_seed = nullptr;
    QComboBox* m_device = nullptr;
    QLineEdit* m_options = nullptr;
    QPushButton* m_start = nullptr;
    QListWidget* m_list = nullptr;
    QPushButton* m_open = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_eta = nullptr;
    QPushButton* m_pause = nullptr;
    QPushButton* m_stop = nullptr;
    QCustomPlot* m_plot = nullptr;
    QComboBox* m_axis = nullptr;
    QSlider* m_smoothing = nullptr;
    QComboBox* m_layout = nullptr;
    QCPAxisRect* m_overlayRect = nullptr;      // the plot's own rect; taken out while panels show
    QCPLayoutGrid* m_panels = nullptr;         // small multiples: a cell (title, rect) per run
    QCPMarginGroup* m_panelMargins = nullptr;  // lines the panels' axes up
    QStringList m_panelRuns;                   // the runs the panels were built for, in order
    ImageView* m_snapshot = nullptr;
    QLabel* m_snapshotLabel = nullptr;
    QLabel* m_status = nullptr;
};

}  // namespace le
