#pragma once

#include "autoregressive_session.h"
#include "model_catalog.h"

#include <QVector>
#include <QWidget>

class QComboBox;
class QCPBars;
class QCustomPlot;
class QDoubleSpinBox;
class QHBoxLayout;
class QLabel;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace le {

class AnchorEditor;
class ImageView;

// The "Autoregressive" tab: a PixelCNN (pixel by pixel) or a VQ-VAE prior (code by code) filling
// an image one position at a time. Play, pause, step one, step a row, run to the end; speed,
// temperature, seed; start from blank or from anchors (the top half or a painted region of an
// image), several completions side by side. The position being sampled is outlined and its
// predicted distribution plotted with the sampled value marked. The sampling runs in an
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

    // Starts again from the controls' settings (model, start, completions, temperature, seed).
    void restart();

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
    QSpinBox* completionsSpin() const { return m_completions; }
    QSpinBox* seedSpin() const { return m_seed; }
    QDoubleSpinBox* temperatureSpin() const { return m_temperature; }
    QSlider* speedSlider() const { return m_speed; }
    QProgressBar* progressBar() const { return m_progress; }
    AnchorEditor* anchorEditor() const { return m_anchors; }
    QLabel* positionLabel() const { return m_positionLabel; }

signals:
    void stepShown();  // a report reached the screen
    void samplingFailed(const QString& message);

private:
    QWidget* buildControls();
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
    void rebuildCompletionViews(int count);
    void showDistribution(const AutoregressiveStep& step);
    void updateButtons();
    const CatalogEntry* currentEntry() const;

    QVector<CatalogEntry> m_entries;
    AutoregressiveSession m_session;
    quint64 m_generation = 0;
    AutoregressiveStep m_last;
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
};

}  // namespace le
