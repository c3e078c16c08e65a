#pragma once

#include "core/jobs/interpolation_job.h"
#include "core/storage/model_catalog.h"
#include "core/storage/workspace.h"

#include <QVector>
#include <QWidget>

#include <array>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTimer;

namespace le {

class ImageView;

// The "Interpolation" tab: two endpoints (dataset items, procedural faces, image files) and one
// strip of frames per model of the chosen dataset that can reach latents for them, by lerp or
// slerp. The strips play as an animation side by side and export as a PNG strip or an MP4 video.
class InterpolationView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InterpolationView)

public:
    explicit InterpolationView(QWidget* parent = nullptr);
    ~InterpolationView() override;

    void setCheckpoints(const QVector<CatalogEntry>& entries);
    // The models that will interpolate (those of the chosen dataset that can).
    QVector<CatalogEntry> interpolatingModels() const;
    // Endpoint 0 (from) or 1 (to), 8-bit grey or RGB; interpolates once both are there.
    void setEndpoint(int which, const cv::Mat& image);
    // Reads an image file into an endpoint; false (the reason in errorText) when it cannot.
    bool openEndpointFile(int which, const QString& path);
    void interpolate();
    void cancel();
    void setPlaying(bool playing);
    // Writes every strip as rows of one PNG / an MP4 that plays them; false (the reason in
    // errorText) when it cannot.
    bool exportPng(const QString& path);
    bool exportVideo(const QString& path);

    // Workspace: the dataset, both endpoints, frames, path, GAN steps and speed.
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    // Replaces those and interpolates again.
    void restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context);

    bool isRunning() const { return m_running; }
    bool isPlaying() const;
    int currentFrame() const { return m_frame; }
    QString errorText() const { return m_error; }
    const QVector<InterpolationStrip>& strips() const { return m_strips; }
    ImageView* endpointView(int which) const { return m_ends[size_t(which)].view; }
    ImageView* playerView(int row) const { return m_rows.value(row).player; }
    QLabel* stripLabel(int row) const { return m_rows.value(row).strip; }
    QSpinBox* framesSpin() const { return m_frames; }
    QComboBox* pathCombo() const { return m_path; }
    QComboBox* datasetCombo() const { return m_dataset; }
    QPushButton* interpolateButton() const { return m_run; }
    QPushButton* cancelButton() const { return m_cancel; }
    QPushButton* playButton() const { return m_play; }
    QProgressBar* progressBar() const { return m_progress; }

signals:
    void interpolationFinished(bool cancelled);

private:
    struct Endpoint {
        ImageView* view = nullptr;
        QSpinBox* item = nullptr;
        cv::Mat image;
        int request = 0;  // the latest choice wins over a dataset item still loading
    };
    struct Row {
        QLabel* title = nullptr;
        ImageView* player = nullptr;
        QLabel* strip = nullptr;
        QLabel* numbers = nullptr;
    };

    QWidget* buildControls();
    QWidget* buildEndpoint(int which, QWidget* parent);
    QWidget* buildResults();
    void rebuildRows();
    void loadDefaultEndpoints();
    void loadDatasetItem(int which);
    void generateFace(int which);
    void chooseEndpointFile(int which);
    void chooseExport(bool video);
    void advanceFrame();
    void showFrame(int frame);
    void onProgress(quint64 generation, qint64 done, qint64 total, const QString& what);
    void onStrip(quint64 generation, int modelIndex, const InterpolationStrip& strip);
    void onFinished(quint64 generation, bool cancelled, const QString& error);
    void showError(const QString& message);
    void updateButtons();
    std::vector<std::vector<cv::Mat>> stripFrames() const;

    QVector<CatalogEntry> m_entries;
    QVector<CatalogEntry> m_models;  // the rows, in order
    QVector<InterpolationStrip> m_strips;
    std::array<Endpoint, 2> m_ends;
    InterpolationJob m_job;
    quint64 m_generation = 0;
    bool m_running = false;
    QString m_error;
    int m_faceSeed = 1;
    int m_frame = 0;
    int m_direction = 1;  // ping-pong playback

    QComboBox* m_dataset = nullptr;
    QSpinBox* m_frames = nullptr;
    QComboBox* m_path = nullptr;
    QSpinBox* m_ganSteps = nullptr;
    QSpinBox* m_fps = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_play = nullptr;
    QPushButton* m_exportPng = nullptr;
    QPushButton* m_exportVideo = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QTimer* m_timer = nullptr;
    QGridLayout* m_grid = nullptr;
    QVector<Row> m_rows;
};

}  // namespace le
