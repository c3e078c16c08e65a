#pragma once

#include "core/autoregressive/entropy_grid.h"
#include "core/jobs/code_grid_job.h"

#include <QVector>
#include <QWidget>

class QCPBars;
class QCPTextElement;
class QCheckBox;
class QCustomPlot;
class QLabel;
class QListWidget;
class QToolButton;

namespace le {

class CodeGridWidget;
class ImageView;

// Edits a VQ-VAE's code grid: click a cell to select it and pick another code from the palette
// (each code's colour, the picture a grid filled with it decodes to, its index and how often the
// held-out images use it), or paint: drag over cells to give them all the chosen code. The edited
// grid is decoded in a job thread as you go and shown beside the original decode with the
// per-pixel difference. Undo (Ctrl+Z) and reset to the encoded grid (Ctrl+R). Below, a histogram
// of code usage over held-out images, dead codes in red; click a bar to choose that code.
class CodeGridEditor final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CodeGridEditor)

public:
    explicit CodeGridEditor(QWidget* parent = nullptr);
    ~CodeGridEditor() override;

    // Starts editing the grid a VQ-VAE encoded (row-major rows×cols); the model is loaded, its
    // palette rendered and its usage counted in the job thread. `title` names it in the frame.
    // `levels` names the levels packed in the grid (a VQ-VAE-2's top and bottom), so that a
    // selected cell is named by its level; either level's cells edit alike.
    void setGrid(const QString& checkpoint, const QString& title, int rows, int cols,
                 const QVector<int>& codes, const cv::Mat& originalDecode,
                 const std::vector<CellGrid>& levels = {});
    QString checkpoint() const { return m_checkpoint; }
    const QVector<int>& codes() const { return m_codes; }
    const QVector<int>& encodedCodes() const { return m_encoded; }
    QString statusText() const;
    int codebookSize() const { return m_codebookSize; }

    // The chosen code (the palette's current entry; what painting and picking apply).
    int currentCode() const { return m_currentCode; }
    // Chooses a code as the user does in the palette: in select mode it is given to the selected
    // cell (one undo step), in paint mode it becomes the brush.
    void chooseCode(int code);
    // Selects a cell (row-major index) as a click does in select mode.
    void selectCell(int index);
    int selectedCell() const;
    void setPaintMode(bool on);
    bool paintMode() const;
    void undo();
    void resetToEncoded();
    // Replaces the grid's codes as one undoable edit (a restored workspace); false, changing
    // nothing, when they do not fit the grid or the codebook.
    bool applyEdit(const QVector<int>& codes);
    bool canUndo() const { return !m_undo.isEmpty(); }

    // Decode ids: the latest asked for and the latest on screen (equal once it has settled).
    quint64 requestedDecode() const { return m_decodeId; }
    quint64 shownDecode() const { return m_shownDecode; }
    const CodeGridDecode& lastDecode() const { return m_lastDecode; }
    const CodeUsage& usage() const { return m_usage; }
    bool paletteReady() const { return m_paletteReady; }
    void setUsageSorted(bool sorted);

    CodeGridWidget* gridWidget() const { return m_grid; }
    QListWidget* paletteList() const { return m_palette; }
    ImageView* originalView() const { return m_original; }
    ImageView* editedView() const { return m_edited; }
    ImageView* differenceView() const { return m_difference; }
    QCustomPlot* usagePlot() const { return m_plot; }
    QCPBars* usedBars() const { return m_usedBars; }
    QCPBars* deadBars() const { return m_deadBars; }
    QString usageTitle() const;
    QToolButton* undoButton() const { return m_undoButton; }
    QToolButton* resetButton() const { return m_resetButton; }
    QToolButton* paintButton() const { return m_paintButton; }

signals:
    void paletteShown();
    void decodeShown(quint64 id);
    void usageShown();

private:
    QWidget* buildTools();
    void onCellPressed(int index);
    void onCellDragged(int index);
    void onStrokeFinished();
    void onPaletteRow(int row);
    void onPalette(const CodePalette& palette);
    void onDecoded(const CodeGridDecode& result);
    void onUsageProgress(int done, int total);
    void onUsage(const CodeUsage& usage);
    void onPlotClicked(QMouseEvent* event);
    void onPlotHover(QMouseEvent* event);
    int codeAtPlotX(double x) const;
    void setCodes(const QVector<int>& codes);
    void pushUndo(const QVector<int>& before);
    void showCurrentInPalette();
    void updatePaletteTexts();
    void plotUsage();
    void updateStatus();
    void updateButtons();

    CodeGridJob m_job;
    QString m_checkpoint;
    quint64 m_serial = 0;
    quint64 m_decodeId = 0, m_shownDecode = 0;
    int m_codebookSize = 0;
    QVector<int> m_encoded, m_codes, m_strokeStart;
    std::vector<CellGrid> m_levels;
    QVector<QVector<int>> m_undo;
    int m_currentCode = 0;
    bool m_paletteReady = false;
    bool m_settingPalette = false;
    bool m_usageSorted = false;
    CodeGridDecode m_lastDecode;
    CodeUsage m_usage;
    QVector<int> m_barCodes;  // the code of each bar position, left to right

    QLabel* m_title = nullptr;
    QToolButton* m_selectButton = nullptr;
    QToolButton* m_paintButton = nullptr;
    QToolButton* m_undoButton = nullptr;
    QToolButton* m_resetButton = nullptr;
    QLabel* m_status = nullptr;
    CodeGridWidget* m_grid = nullptr;
    QListWidget* m_palette = nullptr;
    ImageView* m_original = nullptr;
    ImageView* m_edited = nullptr;
    ImageView* m_difference = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPBars* m_usedBars = nullptr;
    QCPBars* m_deadBars = nullptr;
    QCPTextElement* m_plotTitle = nullptr;
    QCheckBox* m_sorted = nullptr;
};

}  // namespace le
