#pragma once

#include "core/storage/model_catalog.h"
#include "core/jobs/temperature_grid_job.h"
#include "core/storage/workspace.h"

#include <QImage>
#include <QVector>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace le {

// The "Temperature" tab: one temperature control that means the same thing for every family,
// over a synchronised grid — rows are the models of the chosen dataset, columns the same K
// sample indices of one seed, re-sampled as the slider moves (latest wins; fast families at
// once, autoregressive rows filling in). The sweep shows every model at T = 0.25 … 1.25 for the
// same seed, side by side. A tab of its own rather than a section of Compare: Compare measures
// a fixed draw against the data; this one is a live control that the student drags.
class TemperatureView final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TemperatureView)

public:
    explicit TemperatureView(QWidget* parent = nullptr);
    ~TemperatureView() override;

    void setCheckpoints(const QVector<CatalogEntry>& entries);
    // The rows: every model of the chosen dataset that can sample.
    QVector<CatalogEntry> models() const { return m_models; }
    // Re-samples the grid with the controls' values (latest request wins). Deferred until the
    // view is shown.
    void resample();
    void cancel();
    void setSweep(bool on);
    bool isSweep() const;
    double temperature() const;

    // Workspace: the dataset, T, sweep, sample count and seed.
    QJsonObject workspaceState(const WorkspaceContext& context) const;
    // Replaces those; the grid is drawn again for them (once the tab is shown).
    void restoreWorkspaceState(const QJsonObject& state, WorkspaceContext& context);

    bool isRunning() const { return m_running; }
    QString errorText() const { return m_error; }
    const TemperatureRequest& lastRequest() const { return m_request; }
    int gridRows() const { return int(m_models.size()); }
    int gridColumns() const { return m_columns; }
    // What a cell shows now: its image, the temperature it was drawn at (NaN before any), and
    // whether it is finished (an autoregressive cell shows partial images while it fills).
    QImage cellImage(int row, int column) const;
    double cellTemperature(int row, int column) const;
    bool cellComplete(int row, int column) const;
    QString rowText(int row) const;

    QSlider* temperatureSlider() const { return m_slider; }
    QDoubleSpinBox* temperatureSpin() const { return m_spin; }
    QCheckBox* sweepCheck() const { return m_sweep; }
    QSpinBox* seedSpin() const { return m_seed; }
    QSpinBox* countSpin() const { return m_count; }
    QComboBox* datasetCombo() const { return m_dataset; }
    QPushButton* cancelButton() const { return m_cancel; }
    QProgressBar* progressBar() const { return m_progress; }

signals:
    // A cell changed (complete: its last image for this request).
    void cellShown(int row, int column, bool complete);
    void gridFinished(bool cancelled);

protected:
    void showEvent(QShowEvent* event) override;

private:
    struct Cell;
    QWidget* buildControls();
    QWidget* buildGrid();
    void rebuildGrid();
    void onTemperatureEdited();
    void onProgress(quint64 generation, qint64 done, qint64 total, const QString& what);
    void onCell(quint64 generation, const TemperatureCell& cell);
    void onFinished(quint64 generation, bool cancelled, const QString& error);
    void showError(const QString& message);
    void updateRowLabel(int row);
    Cell* cellAt(int row, int column) const;

    QVector<CatalogEntry> m_entries;
    QVector<CatalogEntry> m_models;
    TemperatureGridJob m_job;
    TemperatureRequest m_request;
    quint64 m_generation = 0;
    bool m_running = false;
    bool m_dirty = true;  // the grid does not show the controls' values yet
    QString m_error;
    int m_columns = 0;
    std::vector<std::vector<Cell*>> m_cells;  // [row][column]
    QVector<QLabel*> m_rowLabels;
    struct RowState {
        QString family, title, error;
        double ms = 0;
        qint64 stepsDone = 0, totalSteps = 0;
        bool complete = false;
    };
    std::vector<RowState> m_rowStates;

    QComboBox* m_dataset = nullptr;
    QSlider* m_slider = nullptr;
    QDoubleSpinBox* m_spin = nullptr;
    QCheckBox* m_sweep = nullptr;
    QSpinBox* m_seed = nullptr;
    QSpinBox* m_count = nullptr;
    QPushButton* m_newSeed = nullptr;
    QPushButton* m_cancel = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QWidget* m_gridHost = nullptr;
    QGridLayout* m_grid = nullptr;
};

}  // namespace le
