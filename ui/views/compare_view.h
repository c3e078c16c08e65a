#pragma once

#include "core/jobs/compare_job.h"
#include "core/storage/model_catalog.h"
#include "core/storage/workspace.h"

#include <QVector>
#include <QWidget>

#include <vector>

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QHBoxLayout;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace le {

class ImageView;

// The "Compare" tab, blurriness against sharpness: a grid of samples from every model of the
// chosen dataset beside real images (same count, same seed), a table of numbers relative to the
// data, the radially averaged power spectra over each other on a log scale, and a verdict on the
// lecture's claim (VAEs blurrier, GANs sharper) in those numbers. Exports the table as CSV and the
// figure as PNG.
class CompareView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CompareView)

public:
    enum Column {
        ModelColumn,
        SharpnessColumn,
        HighFrequencyColumn,
        ReconstructionColumn,
        BitsPerDimColumn,
        DistanceColumn,
        ReconstructionDistanceColumn,
        TimeColumn,
        ColumnCount
    };

    explicit CompareView(QWidget* parent = nullptr);
    ~CompareView() override;

    void setCheckpoints(const QVector<CatalogEntry>& entries);
    QVector<CatalogEntry> comparedModels() const;
    // The classifier for the Fréchet distances; empty: the shipped one for the dataset.
    void setClassifierPath(const QString& path) { m_classifierPath = path; }
    void compare();
    void cancel();
    bool exportCsv(const QString& path);
    bool exportFigure(const QString& path);

    // Workspace: the dataset, sample count, seed and temperature, and whether a comparison was
    // shown.
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    // Replaces those; compares again when the workspace showed a comparison.
    void restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context);

    bool isRunning() const { return m_running; }
    QString errorText() const { return m_error; }
    QString verdictText() const;
    const std::vector<CompareRow>& rows() const { return m_rows; }
    QTableWidget* table() const { return m_table; }
    QCustomPlot* spectrumPlot() const { return m_plot; }
    ImageView* gridView(int row) const { return m_grids.value(row); }
    QSpinBox* countSpin() const { return m_count; }
    QComboBox* datasetCombo() const { return m_dataset; }
    QPushButton* compareButton() const { return m_run; }
    QPushButton* cancelButton() const { return m_cancel; }
    QProgressBar* progressBar() const { return m_progress; }

signals:
    void comparisonFinished(bool cancelled);

private:
    QWidget* buildControls();
    QWidget* buildResults();
    void rebuildColumns();
    void chooseExport(bool figure);
    void onProgress(quint64 generation, qint64 done, qint64 total, const QString& what);
    void onRow(quint64 generation, int row, const CompareRow& result);
    void onFinished(quint64 generation, bool cancelled, const QString& error);
    void fillTableRow(int row);
    void plotSpectra();
    void showError(const QString& message);
    void updateButtons();

    QVector<CatalogEntry> m_entries;
    QVector<CatalogEntry> m_models;
    std::vector<CompareRow> m_rows;  // row 0: the data
    CompareJob m_job;
    quint64 m_generation = 0;
    bool m_running = false;
    QString m_error;
    QString m_classifierPath;

    QComboBox* m_dataset = nullptr;
    QSpinBox* m_count = nullptr;
    QSpinBox* m_seed = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_exportCsv = nullptr;
    QPushButton* m_exportFigure = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_verdict = nullptr;
    QWidget* m_figure = nullptr;  // what the PNG export grabs
    QHBoxLayout* m_gridRow = nullptr;
    QVector<QWidget*> m_gridColumns;
    QVector<ImageView*> m_grids;
    QTableWidget* m_table = nullptr;
    QCustomPlot* m_plot = nullptr;
};

}  // namespace le
