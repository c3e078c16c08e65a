#pragma once

#include "core/jobs/inversion_job.h"
#include "core/storage/model_catalog.h"
#include "core/storage/workspace.h"

#include <QVector>
#include <QWidget>

class QComboBox;
class QCustomPlot;
class QGridLayout;
class QGroupBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace le {

class CodeGridEditor;
class ImageView;

// The "Inversion" tab: an image (a file by dialog or drag and drop, a dataset item, a generated
// face) inverted by every model of the chosen dataset that can: one row per model with what it
// saw, its reconstruction, the per-pixel error as a heat map, the VQ-VAE's code grid, and the
// error, sharpness and time. A GAN's optimisation shows its loss and its best image so far live,
// and can be cancelled. A VQ-VAE's code grid opens in the code editor below the rows (click a
// row's code grid to edit that one).
class InversionView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InversionView)

public:
    explicit InversionView(QWidget* parent = nullptr);
    ~InversionView() override;

    void setCheckpoints(const QVector<CatalogEntry>& entries);
    // The models that will invert (those of the chosen dataset that can).
    QVector<CatalogEntry> invertingModels() const;
    // The image to invert (8-bit grey or RGB); inverts at once when models are there.
    void setImage(const cv::Mat& image);
    // Reads an image file; false (with the reason in errorText) when it cannot.
    bool openImageFile(const QString& path);
    void invert();
    void cancel();

    bool isRunning() const { return m_running; }
    QString errorText() const { return m_error; }
    const QVector<InversionOutcome>& outcomes() const { return m_outcomes; }
    ImageView* inputView() const { return m_input; }
    ImageView* reconstructionView(int row) const { return m_rows.value(row).reconstruction; }
    ImageView* errorView(int row) const { return m_rows.value(row).error; }
    ImageView* codeView(int row) const { return m_rows.value(row).codes; }
    QLabel* numbersLabel(int row) const { return m_rows.value(row).numbers; }
    QPushButton* invertButton() const { return m_invert; }
    QPushButton* cancelButton() const { return m_cancel; }
    QSpinBox* stepsSpin() const { return m_steps; }
    QComboBox* datasetCombo() const { return m_dataset; }
    QProgressBar* progressBar() const { return m_progress; }
    QCustomPlot* lossPlot() const { return m_lossPlot; }
    // A GAN's best image so far while it optimises; its final reconstruction after.
    ImageView* liveView() const { return m_live; }
    CodeGridEditor* codeEditor() const { return m_editor; }
    // Opens a row's code grid (a VQ-VAE's, once inverted) in the editor.
    void editCodesOfRow(int row);

    // Workspace: the dataset, the image, the GAN's steps and starts, the code editor's edit.
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    // Replaces those and inverts the image again; the edited code grid comes back once its
    // VQ-VAE has encoded the image.
    void restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context);

signals:
    void inversionFinished(bool cancelled);
    // The live image of a GAN's optimisation was replaced (step of the optimisation).
    void liveImageShown(qint64 step);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    struct Row {
        QLabel* title = nullptr;
        ImageView* reconstruction = nullptr;
        ImageView* error = nullptr;
        ImageView* codes = nullptr;
        QLabel* numbers = nullptr;
    };

    QWidget* buildControls();
    QWidget* buildResults();
    void rebuildRows();
    void chooseImageFile();
    void loadDatasetItem();
    void generateFace();
    void onProgress(quint64 generation, int modelIndex, qint64 step, qint64 total, double best);
    void onLive(quint64 generation, int modelIndex, const InversionLive& live);
    void onOutcome(quint64 generation, int modelIndex, const InversionOutcome& outcome);
    void onFinished(quint64 generation, bool cancelled, const QString& error);
    void showError(const QString& message);
    void updateButtons();

    QVector<CatalogEntry> m_entries;
    QVector<CatalogEntry> m_models;  // the rows, in order
    QVector<InversionOutcome> m_outcomes;
    cv::Mat m_image;
    InversionJob m_job;
    quint64 m_generation = 0;
    bool m_running = false;
    QString m_error;
    int m_datasetRequest = 0;
    int m_faceSeed = 1;
    // From a workspace: an edited code grid waiting for its model's inversion.
    QString m_pendingEditCheckpoint;
    QVector<int> m_pendingEditCodes;

    QComboBox* m_dataset = nullptr;
    ImageView* m_input = nullptr;
    QSpinBox* m_item = nullptr;
    QSpinBox* m_steps = nullptr;
    QSpinBox* m_starts = nullptr;
    QPushButton* m_invert = nullptr;
    QPushButton* m_cancel = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QCustomPlot* m_lossPlot = nullptr;
    ImageView* m_live = nullptr;
    QLabel* m_liveCaption = nullptr;
    CodeGridEditor* m_editor = nullptr;
    QGroupBox* m_editorBox = nullptr;
    QGridLayout* m_grid = nullptr;
    QVector<Row> m_rows;
};

}  // namespace le
