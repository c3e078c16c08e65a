#pragma once

#include <QPoint>
#include <QRect>
#include <QVector>
#include <QWidget>

namespace le {

// A VQ-VAE's code grid drawn as coloured cells (one colour per code, with its index where the
// cells are large enough). A press on a cell, and every further cell the drag enters, is
// reported; the owner decides whether that selects or paints. One cell can be outlined as
// selected.
class CodeGridWidget final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CodeGridWidget)

public:
    explicit CodeGridWidget(QWidget* parent = nullptr);

    void setGrid(int rows, int cols, const QVector<int>& codes);
    void setCodes(const QVector<int>& codes);  // same shape
    const QVector<int>& codes() const { return m_codes; }
    int rows() const { return m_rows; }
    int cols() const { return m_cols; }
    // -1 for none.
    void setSelectedCell(int index);
    int selectedCell() const { return m_selected; }
    // Cells that differ from these are marked (the encoded grid).
    void setReference(const QVector<int>& codes);

    // In widget coordinates; empty outside the grid.
    QRect cellRect(int row, int col) const;
    // The cell under a point, -1 outside.
    int cellAt(const QPoint& pos) const;

    QSize sizeHint() const override { return {224, 224}; }
    QSize minimumSizeHint() const override { return {112, 112}; }
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override { return width; }

signals:
    void cellPressed(int index);
    void cellDragged(int index);  // a further cell entered while the button is held
    void strokeFinished();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    QRect gridRect() const;

    int m_rows = 0, m_cols = 0;
    QVector<int> m_codes, m_reference;
    int m_selected = -1;
    int m_lastDragged = -1;
    bool m_dragging = false;
};

}  // namespace le
