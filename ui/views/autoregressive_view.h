#pragma once

#include "core/autoregressive/autoregressive_session.h"
#include "core/autoregressive/branch_history.h"
#include "core/storage/model_catalog.h"

#include <QJsonObject>
#include <QVector>
#include <QWidget>

#include <vector>

class QComboBox;
class QCPBars;
class QCustomPlot;
class QDoubleSpinBox;
class QHBoxLayout;
class QLabel;
class QListWidget;
class QListWidgetItem;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace le {

class AnchorEditor;
class EntropyMapView;
class ImageView;
class WorkspaceContext;

// The "Autoregressive" tab: a PixelCNN (pixel by pixel) or a VQ-VAE prior (code by code) filling
// an image one position at a time. Play, pause, step one, step a row, run to the end; speed,
// temperature, seed; start from blank or from anchors (the top half or a painted region of an
// image), several completions side by side. The position being sampled is outlined and its
// predicted distribution plotted with the sampled value marked; beside the images, a heat map of
// the predictive entropy of every filled position. The run can be rewound to any filled position
// (a slider, a click on the image or the heat map, Ctrl+Z for one back) and resampled from there
// with the seed and temperature of the controls; every branch stays listed with a thumbnail and
// can be made current again. The current branch exports as an MP4 video. A workspace keeps the
// controls and every branch, rebuilt on restore by sampling them again. The sampling runs in an
// AutoregressiveSession thread; this widget only sends commands and paints reports.
class AutoregressiveView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AutoregressiveView)

public:
    enum StartFrom { Blank = 0, TopHalf = 1, Painted = 2 };

    explicit AutoregressiveView(QWidget* parent = nullptr);
    ~AutoregressiveView() override;

    // The models on offer; those that cannot step are left out. Restarts on the first one if
    // nothing was chosen yet.
    void setCheckpoints(const QVector<CatalogEntry>& entries);
    int modelCount() const;
    void selectModel(const QString& checkpointPath);
    // The image anchors come from (an imported file, a dataset item); fitted to the model.
    void setAnchorImage(const cv::Mat& image);
    void setStartFrom(StartFrom start);

    // Starts again from the controls' settings (model, start, completions, temperature, seed);
    // forgets every branch.
    void restart();
    // Rewinds the current branch to keep its first `cells` positions (pixels or codes) and
    // resamples the rest with the controls' seed and temperature, as a new branch beside it. A
    // branch that has sampled nothing of its own yet is moved instead of kept. The seed is moved
    // on when the same fork with the same seed exists already. False when `cells` is not filled.
    bool rewindTo(qint64 cells);
    void stepBack();  // rewinds one position (Ctrl+Z)
    // Makes the branch at `index` of the strip current again.
    void showBranch(int index);
    // Writes the current branch's run as an MP4 video in the background; videoExported answers.
    void exportVideo(const QString& path);

    // Workspace: the model, start, anchor image and mask, completions, temperature, seed, speed and
    // every branch (its fork, seed, temperature and how far it had sampled) with the current one.
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    // Replaces all of that and rebuilds the branches by sampling them again (same seeds: the same
    // values), ending paused on the branch that was current. Missing models/images become warnings.
    void restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context);

    const AutoregressiveStep& lastStep() const { return m_last; }
    bool isPlaying() const { return m_playing; }
    QString errorText() const { return m_error; }
    int completionCount() const { return m_views.size(); }
    ImageView* completionView(int i) const { return m_views.value(i); }
    QCustomPlot* plot() const { return m_plot; }
    QCPBars* distributionBars() const { return m_bars; }
    QCPBars* sampledBar() const { return m_sampledBar; }
    QPushButton* playButton() const { return m_play; }
    QPushButton* stepButton() const { return m_step; }
    QPushButton* stepRowButton() const { return m_stepRow; }
    QPushButton* runButton() const { return m_run; }
    QPushButton* restartButton() const { return m_restart; }
    QComboBox* modelCombo() const { return m_model; }
    QComboBox* startCombo() const { return m_start; }
    QSpinBox* datasetItemSpin() const { return m_datasetItem; }
    QSpinBox* completionsSpin() const { return m_completions; }
    QSpinBox* seedSpin() const { return m_seed; }
    QDoubleSpinBox* temperatureSpin() const { return m_temperature; }
    QSlider* speedSlider() const { return m_speed; }
    QProgressBar* progressBar() const { return m_progress; }
    AnchorEditor* anchorEditor() const { return m_anchors; }
    QLabel* positionLabel() const { return m_positionLabel; }
    EntropyMapView* entropyMap() const { return m_entropy; }
    QLabel* entropyLabel() const { return m_entropyLabel; }
    QListWidget* branchStrip() const { return m_branchStrip; }
    QSlider* rewindSlider() const { return m_rewind; }
    QPushButton* resampleButton() const { return m_resample; }
    QPushButton* stepBackButton() const { return m_stepBack; }
    QPushButton* exportVideoButton() const { return m_exportVideo; }
    int branchCount() const;
    int currentBranchIndex() const;
    // Completion 1 of a branch as last reported (8-bit, one pixel per image pixel).
    QImage branchImage(int index) const;
    qint64 branchForkCells(int index) const;
    quint64 branchSeed(int index) const;
    qint64 branchStepsDone(int index) const;

signals:
    void stepShown();  // a report reached the screen
    void samplingFailed(const QString& message);
    void videoExported(const QString& path, const QString& error);  // error empty: written

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    // A branch as a workspace keeps it: `parent` indexes the list saved with it (-1: the run's
    // start; for a later one, unreadable: left out); `dropped`: a source no longer listed that a
    // listed branch still descends from.
    struct SavedBranch {
        int parent = -1;
        qint64 forkCells = 0;
        quint64 seed = 1;
        double temperature = 1.0;
        qint64 stepsDone = 0;
        bool dropped = false;
    };

    QWidget* buildControls();
    QWidget* buildBranches();
    QWidget* buildOutput();
    void addShortcuts();
    void onStepped(const AutoregressiveStep& step);
    void onFailed(quint64 generation, const QString& message);
    void onStopped();
    void togglePlay();
    void updateSpeed();
    void chooseImageFile();
    void loadDatasetItem(int index);
    void onModelChanged();
    AutoregressiveSetup setupFromControls() const;
    void startRun(AutoregressiveSetup setup);
    void showRunFailure(const QString& message);
    void dropFailedBranch(quint64 id, const QString& message);
    void rebuildCompletionViews(int count);
    void showDistribution(const AutoregressiveStep& step);
    void display(const AutoregressiveStep& step);
    void showHighlight();
    std::vector<CellGrid> lastGrids() const;
    CellGrid shownGrid() const;  // the grid the entropy map shows
    void updateButtons();
    void updateRewind();
    void showCellInfo(int row, int col);
    void cellClicked(int row, int col);
    void addBranch(const BranchRecord& branch);
    void listBranch(const BranchRecord& branch);
    void dropOldBranches();
    void removeBranch(quint64 id);
    void removeStripItem(int index);
    void updateBranchItem(int index);
    void selectBranchItem();
    void chooseVideoFile();
    const CatalogEntry* currentEntry() const;

    QJsonObject runState() const;
    bool restoreModel(const QJsonValue& ref, WorkspaceContext& context);
    void restoreControls(const QJsonObject& state, WorkspaceContext& context);
    void restoreAnchors(const QJsonObject& state, WorkspaceContext& context);
    void restoreRun(const QJsonObject& run, WorkspaceContext& context);
    bool readRunAnchors(const QJsonObject& run, AutoregressiveSetup& setup,
                        WorkspaceContext& context);
    std::vector<SavedBranch> readSavedBranches(const QJsonValue& value,
                                               WorkspaceContext& context) const;
    cv::Mat fittedToModel(const cv::Mat& image) const;

    QVector<CatalogEntry> m_entries;
    AutoregressiveSession m_session;
    quint64 m_generation = 0;
    AutoregressiveStep m_last;
    size_t m_shownGrid = 0;  // which of m_last's grids the entropy map shows
    bool m_playing = false;
    QString m_error;
    int m_datasetRequest = 0;

    QComboBox* m_model = nullptr;
    QComboBox* m_start = nullptr;
    AnchorEditor* m_anchors = nullptr;
    QSpinBox* m_datasetItem = nullptr;
    QPushButton* m_openImage = nullptr;
    QSpinBox* m_completions = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QSpinBox* m_seed = nullptr;
    QSlider* m_speed = nullptr;
    QLabel* m_speedLabel = nullptr;
    QPushButton* m_restart = nullptr;
    QPushButton* m_play = nullptr;
    QPushButton* m_step = nullptr;
    QPushButton* m_stepRow = nullptr;
    QPushButton* m_run = nullptr;
    QProgressBar* m_progress = nullptr;
    QPushButton* m_stop = nullptr;
    QHBoxLayout* m_viewRow = nullptr;
    QVector<ImageView*> m_views;
    QCustomPlot* m_plot = nullptr;
    QCPBars* m_bars = nullptr;
    QCPBars* m_sampledBar = nullptr;
    QLabel* m_positionLabel = nullptr;
    EntropyMapView* m_entropy = nullptr;
    QLabel* m_entropyLabel = nullptr;
    QListWidget* m_branchStrip = nullptr;
    QSlider* m_rewind = nullptr;
    QLabel* m_rewindLabel = nullptr;
    QPushButton* m_resample = nullptr;
    QPushButton* m_stepBack = nullptr;
    QPushButton* m_exportVideo = nullptr;

    AutoregressiveSetup m_runSetup;  // what the run was started with (its anchors deep copies)
    quint64 m_runId = 0;             // the id of the run's first branch
    BranchHistory m_history;         // its strip shows the listed branches, in the same order
    bool m_rewindAtPresent = true;   // the rewind slider follows the run
    bool m_exporting = false;
};

}  // namespace le
