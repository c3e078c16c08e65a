#include "ui/widgets/code_grid_editor.h"
#include "core/imaging/compose.h"

#include "ui/qt_image.h"
#include "ui/widgets/code_grid_widget.h"
#include "ui/widgets/image_view.h"
#include "ui/widgets/view_controls.h"

#include <QAction>
#include <QButtonGroup>
#include <QCheckBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPainter>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace le {

namespace {

constexpr int kIconSize = 36;
const QColor kUsedColour(0x4E, 0x79, 0xA7);
const QColor kDeadColour(0xE1, 0x57, 0x59);

QColor toQColor(const cv::Vec3b& rgb) {
    return QColor(rgb[0], rgb[1], rgb[2]);
}

// The decode of a grid filled with the code, framed in the code's colour.
QIcon paletteIcon(const cv::Mat& picture, int code) {
    QPixmap pixmap(kIconSize, kIconSize);
    pixmap.fill(toQColor(codeColour(code)));
    QPainter p(&pixmap);
    const QImage image = matToQImage(picture);
    if (!image.isNull())
        p.drawImage(QRect(3, 3, kIconSize - 6, kIconSize - 6),
                    image.scaled(kIconSize - 6, kIconSize - 6, Qt::IgnoreAspectRatio,
                                 Qt::FastTransformation));
    return QIcon(pixmap);
}

ImageView* captionedView(QWidget* parent, QVBoxLayout*& column, const QString& caption,
                         const QString& tip) {
    column = new QVBoxLayout;
    column->setSpacing(2);
    auto* label = new QLabel(caption, parent);
    label->setAlignment(Qt::AlignHCenter);
    auto* view = new ImageView(parent);
    view->setMinimumSize(88, 88);
    view->setMaximumSize(132, 132);
    view->setToolTip(tip);
    column->addWidget(label);
    column->addWidget(view);
    return view;
}

}  // namespace

CodeGridEditor::CodeGridEditor(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(buildTools());

    auto* body = new QHBoxLayout;
    m_grid = new CodeGridWidget(this);
    m_grid->setToolTip(
        tr("The code grid: one colour per code (its index inside). Select mode: click a cell, then "
           "pick a code on the right. Paint mode (Ctrl+B): drag over cells to give them the chosen "
           "code. Edited cells carry a corner mark."));
    connect(m_grid, &CodeGridWidget::cellPressed, this, &CodeGridEditor::onCellPressed);
    connect(m_grid, &CodeGridWidget::cellDragged, this, &CodeGridEditor::onCellDragged);
    connect(m_grid, &CodeGridWidget::strokeFinished, this, &CodeGridEditor::onStrokeFinished);
    body->addWidget(m_grid, 3);

    m_palette = new QListWidget(this);
    m_palette->setViewMode(QListView::IconMode);
    m_palette->setIconSize(QSize(kIconSize, kIconSize));
    // Room for the two lines under each icon (its index and its use count), unelided.
    m_palette->setGridSize(QSize(kIconSize + 26, kIconSize + 2 * fontMetrics().lineSpacing() + 10));
    m_palette->setResizeMode(QListView::Adjust);
    m_palette->setMovement(QListView::Static);
    m_palette->setUniformItemSizes(true);
    m_palette->setTextElideMode(Qt::ElideNone);  // "1020×" is a little wider than its icon
    m_palette->setMinimumWidth(4 * (kIconSize + 26) + 24);
    m_palette->setToolTip(
        tr("The codebook: each code's colour, what a grid filled with it "
           "decodes to, its index and how often the held-out images use it. "
           "Pick one to give it to the selected cell, or to paint with it."));
    connect(m_palette, &QListWidget::currentRowChanged, this, &CodeGridEditor::onPaletteRow);
    body->addWidget(m_palette, 3);

    auto* right = new QVBoxLayout;
    auto* images = new QHBoxLayout;
    QVBoxLayout* column = nullptr;
    m_original =
        captionedView(this, column, tr("Original"), tr("The decode of the grid the encoder chose"));
    images->addLayout(column);
    m_edited = captionedView(this, column, tr("Edited"), tr("The decode of the edited grid, live"));
    images->addLayout(column);
    m_difference = captionedView(
        this, column, tr("Difference"),
        tr("Per-pixel |edited \u2212 original| (brighter: larger; a quarter of the range is full "
           "heat)"));
    images->addLayout(column);
    images->addStretch(1);
    right->addLayout(images);

    m_plot = new QCustomPlot(this);
    m_plot->setMinimumSize(260, 150);
    m_plot->setToolTip(
        tr("How often each code is used over held-out images; dead codes (never "
           "used) in red below the axis. Click a bar to choose that code."));
    m_plot->plotLayout()->insertRow(0);
    m_plotTitle = new QCPTextElement(m_plot, tr("Code usage"), QFont(font().family(), 9));
    m_plot->plotLayout()->addElement(0, 0, m_plotTitle);
    m_usedBars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_usedBars->setName(tr("used"));
    m_usedBars->setPen(Qt::NoPen);
    m_usedBars->setBrush(kUsedColour);
    m_usedBars->setWidth(0.8);
    m_deadBars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_deadBars->setName(tr("dead (never used)"));
    m_deadBars->setPen(Qt::NoPen);
    m_deadBars->setBrush(kDeadColour);
    m_deadBars->setWidth(0.8);
    m_plot->xAxis->setLabel(tr("code"));
    setIntegerTicks(m_plot->xAxis);
    m_plot->yAxis->setLabel(tr("cells"));
    QFont small = font();
    small.setPointSizeF(std::max(7.0, small.pointSizeF() - 1));
    m_plot->xAxis->setLabelFont(small);
    m_plot->yAxis->setLabelFont(small);
    m_plot->xAxis->setTickLabelFont(small);
    m_plot->yAxis->setTickLabelFont(small);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &CodeGridEditor::onPlotClicked);
    connect(m_plot, &QCustomPlot::mouseMove, this, &CodeGridEditor::onPlotHover);
    right->addWidget(m_plot, 1);
    m_sorted = new QCheckBox(tr("Sort by usage"), this);
    m_sorted->setToolTip(tr("Bars from the most used code to the least, instead of by index"));
    connect(m_sorted, &QCheckBox::toggled, this, &CodeGridEditor::setUsageSorted);
    right->addWidget(m_sorted);
    body->addLayout(right, 5);
    layout->addLayout(body, 1);

    connect(&m_job, &CodeGridJob::paletteReady, this, &CodeGridEditor::onPalette,
            Qt::QueuedConnection);
    connect(&m_job, &CodeGridJob::decoded, this, &CodeGridEditor::onDecoded, Qt::QueuedConnection);
    connect(&m_job, &CodeGridJob::usageProgress, this, &CodeGridEditor::onUsageProgress,
            Qt::QueuedConnection);
    connect(&m_job, &CodeGridJob::usageReady, this, &CodeGridEditor::onUsage, Qt::QueuedConnection);
    updateButtons();
}

CodeGridEditor::~CodeGridEditor() = default;

QWidget* CodeGridEditor::buildTools() {
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    m_title = new QLabel(bar);
    row->addWidget(m_title);

    auto makeButton = [bar, row](const QString& text, const QString& tip,
                                 const QKeySequence& keys) {
        auto* button = new QToolButton(bar);
        button->setText(text);
        // The shortcut itself is an action of the editor (Qt::WidgetWithChildrenShortcut).
        button->setToolTip(
            QStringLiteral("%1 (%2)").arg(tip, keys.toString(QKeySequence::NativeText)));
        button->setToolButtonStyle(Qt::ToolButtonTextOnly);
        row->addWidget(button);
        return button;
    };
    m_selectButton = makeButton(tr("Select"),
                                tr("Click a cell, then pick its new code; Ctrl+B "
                                   "switches between select and paint"),
                                QKeySequence(Qt::CTRL | Qt::Key_B));
    m_paintButton = makeButton(tr("Paint"), tr("Drag over cells to give them the chosen code"),
                               QKeySequence(Qt::CTRL | Qt::Key_B));
    for (QToolButton* b : {m_selectButton, m_paintButton}) b->setCheckable(true);
    m_selectButton->setChecked(true);
    auto* modes = new QButtonGroup(bar);
    modes->setExclusive(true);
    modes->addButton(m_selectButton);
    modes->addButton(m_paintButton);
    auto* paintAction = new QAction(this);
    paintAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    paintAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(paintAction, &QAction::triggered, this, [this] { setPaintMode(!paintMode()); });
    addAction(paintAction);
    connect(m_paintButton, &QToolButton::toggled, this, [this] { updateStatus(); });

    m_undoButton =
        makeButton(tr("Undo"), tr("Undo the last edit"), QKeySequence(QKeySequence::Undo));
    auto* undoAction = new QAction(this);
    undoAction->setShortcut(QKeySequence::Undo);
    undoAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(undoAction, &QAction::triggered, this, &CodeGridEditor::undo);
    addAction(undoAction);
    connect(m_undoButton, &QToolButton::clicked, this, &CodeGridEditor::undo);

    m_resetButton = makeButton(tr("Reset"), tr("Back to the grid the encoder chose (undoable)"),
                               QKeySequence(Qt::CTRL | Qt::Key_R));
    auto* resetAction = new QAction(this);
    resetAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    resetAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(resetAction, &QAction::triggered, this, &CodeGridEditor::resetToEncoded);
    addAction(resetAction);
    connect(m_resetButton, &QToolButton::clicked, this, &CodeGridEditor::resetToEncoded);

    m_status = new QLabel(bar);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    row->addWidget(m_status, 1);
    return bar;
}

void CodeGridEditor::setGrid(const QString& checkpoint, const QString& title, int rows, int cols,
                             const QVector<int>& codes, const cv::Mat& originalDecode,
                             const std::vector<CellGrid>& levels) {
    const bool sameModel = checkpoint == m_checkpoint && m_paletteReady;
    m_checkpoint = checkpoint;
    m_title->setText(tr("<b>%1</b> code grid").arg(title));
    m_title->setToolTip(QFileInfo(checkpoint).fileName());
    m_encoded = codes;
    m_codes = codes;
    m_levels = levels;
    m_undo.clear();
    m_grid->setGrid(rows, cols, codes);
    const QImage original = matToQImage(originalDecode);
    m_original->setImage(original);
    m_edited->setImage(original);
    m_difference->setImage({});
    if (!sameModel) {
        m_paletteReady = false;
        m_palette->clear();
        m_usage = CodeUsage();
        m_usedBars->data()->clear();
        m_deadBars->data()->clear();
        m_plotTitle->setText(tr("Code usage: counting\u2026"));
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        m_serial = m_job.setModel(checkpoint);
    }
    m_job.requestDecode(++m_decodeId, m_encoded, m_codes);
    updateButtons();
    updateStatus();
}

QString CodeGridEditor::statusText() const {
    return m_status->text();
}

int CodeGridEditor::selectedCell() const {
    return m_grid->selectedCell();
}

void CodeGridEditor::setPaintMode(bool on) {
    (on ? m_paintButton : m_selectButton)->setChecked(true);
    if (on) m_grid->setSelectedCell(-1);
    updateStatus();
}

bool CodeGridEditor::paintMode() const {
    return m_paintButton->isChecked();
}

void CodeGridEditor::selectCell(int index) {
    if (index < 0 || index >= m_codes.size()) return;
    m_grid->setSelectedCell(index);
    m_currentCode = m_codes[index];
    showCurrentInPalette();
    updateStatus();
}

void CodeGridEditor::chooseCode(int code) {
    if (code < 0 || (m_codebookSize > 0 && code >= m_codebookSize)) return;
    m_currentCode = code;
    showCurrentInPalette();
    const int cell = m_grid->selectedCell();
    if (!paintMode() && cell >= 0 && m_codes[cell] != code) {
        pushUndo(m_codes);
        QVector<int> edited = m_codes;
        edited[cell] = code;
        setCodes(edited);
    }
    updateStatus();
}

void CodeGridEditor::onCellPressed(int index) {
    m_strokeStart = m_codes;
    if (!paintMode()) {
        selectCell(index);
        return;
    }
    onCellDragged(index);
}

void CodeGridEditor::onCellDragged(int index) {
    if (!paintMode() || index < 0 || index >= m_codes.size()) return;
    if (m_codes[index] == m_currentCode) return;
    QVector<int> edited = m_codes;
    edited[index] = m_currentCode;
    setCodes(edited);  // decoded as the drag goes: the job keeps only the newest request
}

void CodeGridEditor::onStrokeFinished() {
    // One undo step per stroke, however many cells it painted.
    if (!m_strokeStart.isEmpty() && m_strokeStart != m_codes) pushUndo(m_strokeStart);
    m_strokeStart.clear();
}

void CodeGridEditor::onPaletteRow(int row) {
    if (m_settingPalette || row < 0) return;
    chooseCode(row);
}

void CodeGridEditor::setCodes(const QVector<int>& codes) {
    m_codes = codes;
    m_grid->setCodes(codes);
    m_job.requestDecode(++m_decodeId, m_encoded, m_codes);
    updateButtons();
    updateStatus();
}

void CodeGridEditor::pushUndo(const QVector<int>& before) {
    m_undo.push_back(before);
    updateButtons();
}

void CodeGridEditor::undo() {
    if (m_undo.isEmpty()) return;
    const QVector<int> previous = m_undo.takeLast();
    setCodes(previous);
    const int cell = m_grid->selectedCell();
    if (cell >= 0) {
        m_currentCode = m_codes[cell];
        showCurrentInPalette();
    }
}

bool CodeGridEditor::applyEdit(const QVector<int>& codes) {
    const int limit = m_codebookSize > 0 ? m_codebookSize : std::numeric_limits<int>::max();
    if (codes.size() != m_encoded.size() ||
        std::any_of(codes.begin(), codes.end(), [limit](int c) { return c < 0 || c >= limit; }))
        return false;
    if (codes == m_codes) return true;
    pushUndo(m_codes);
    setCodes(codes);
    return true;
}

void CodeGridEditor::resetToEncoded() {
    if (m_codes == m_encoded) return;
    pushUndo(m_codes);
    setCodes(m_encoded);
}

void CodeGridEditor::showCurrentInPalette() {
    if (m_currentCode >= m_palette->count()) return;
    m_settingPalette = true;
    m_palette->setCurrentRow(m_currentCode);
    m_palette->scrollToItem(m_palette->item(m_currentCode));
    m_settingPalette = false;
}

void CodeGridEditor::onPalette(const CodePalette& palette) {
    if (palette.model != m_serial) return;
    if (!palette.error.isEmpty()) {
        m_status->setText(palette.error);
        m_plotTitle->setText(tr("Code usage: no model"));
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    m_codebookSize = palette.codes;
    m_settingPalette = true;
    m_palette->clear();
    for (int k = 0; k < palette.codes; ++k) {
        auto* item = new QListWidgetItem(paletteIcon(palette.pictures[size_t(k)], k),
                                         QStringLiteral("#%1\n\u2026").arg(k), m_palette);
        item->setTextAlignment(Qt::AlignHCenter | Qt::AlignTop);
    }
    m_settingPalette = false;
    m_paletteReady = true;
    updatePaletteTexts();
    showCurrentInPalette();
    emit paletteShown();
}

void CodeGridEditor::onDecoded(const CodeGridDecode& result) {
    if (result.id <= m_shownDecode || result.id > m_decodeId) return;
    m_shownDecode = result.id;
    if (!result.error.isEmpty()) {
        m_edited->setOverlayText(tr("failed"));
        m_status->setText(result.error);
        emit decodeShown(result.id);
        return;
    }
    m_lastDecode = result;
    m_edited->setOverlayText({});
    m_original->setImage(matToQImage(result.original));
    m_edited->setImage(matToQImage(result.edited));
    m_difference->setImage(matToQImage(result.difference));
    updateStatus();
    emit decodeShown(result.id);
}

void CodeGridEditor::onUsageProgress(int done, int total) {
    if (m_usage.counts.isEmpty())
        m_plotTitle->setText(tr("Code usage: counting %1 / %2 images\u2026").arg(done).arg(total));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void CodeGridEditor::onUsage(const CodeUsage& usage) {
    if (usage.checkpoint != m_checkpoint) return;
    m_usage = usage;
    if (!usage.error.isEmpty()) {
        m_plotTitle->setText(tr("Code usage: %1").arg(usage.error));
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        emit usageShown();
        return;
    }
    plotUsage();
    updatePaletteTexts();
    emit usageShown();
}

QString CodeGridEditor::usageTitle() const {
    return m_plotTitle->text();
}

void CodeGridEditor::setUsageSorted(bool sorted) {
    m_usageSorted = sorted;
    if (m_sorted->isChecked() != sorted) m_sorted->setChecked(sorted);
    if (!m_usage.counts.isEmpty()) plotUsage();
}

void CodeGridEditor::plotUsage() {
    const QVector<qint64>& counts = m_usage.counts;
    const int k = int(counts.size());
    m_barCodes.resize(k);
    std::iota(m_barCodes.begin(), m_barCodes.end(), 0);
    if (m_usageSorted)
        std::stable_sort(m_barCodes.begin(), m_barCodes.end(),
                         [&](int a, int b) { return counts[a] > counts[b]; });
    const double top = std::max<double>(1.0, *std::max_element(counts.begin(), counts.end()));
    QVector<double> usedKeys, usedValues, deadKeys, deadValues;
    for (int x = 0; x < k; ++x) {
        const qint64 n = counts[m_barCodes[x]];
        if (n > 0) {
            usedKeys << x;
            usedValues << double(n);
        } else {
            deadKeys << x;
            deadValues << -0.06 * top;  // below the axis: visible, and plainly not a count
        }
    }
    m_usedBars->setData(usedKeys, usedValues, true);
    m_deadBars->setData(deadKeys, deadValues, true);
    const int dead = m_usage.deadCodes();
    m_plotTitle->setText(tr("%1 of %2 codes dead").arg(dead).arg(k));
    m_plot->xAxis->setLabel(
        m_usageSorted
            ? tr("codes, most used first (%1 held-out %2 images)")
                  .arg(m_usage.images)
                  .arg(m_usage.dataset)
            : tr("code index (%1 held-out %2 images)").arg(m_usage.images).arg(m_usage.dataset));
    m_plot->yAxis->setLabel(tr("cells using it"));
    m_plot->xAxis->setRange(-1, k);
    m_plot->yAxis->setRange(dead > 0 ? -0.1 * top : 0, top * 1.05);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

int CodeGridEditor::codeAtPlotX(double x) const {
    const int position = int(std::lround(m_plot->xAxis->pixelToCoord(x)));
    if (position < 0 || position >= m_barCodes.size()) return -1;
    return m_barCodes[position];
}

void CodeGridEditor::onPlotClicked(QMouseEvent* event) {
    if (!m_plot->axisRect()->rect().contains(event->pos())) return;
    const int code = codeAtPlotX(event->position().x());
    if (code < 0) return;
    // Chooses the code as the brush: the selected cell keeps its code until picked in the palette.
    m_currentCode = code;
    showCurrentInPalette();
    updateStatus();
}

void CodeGridEditor::onPlotHover(QMouseEvent* event) {
    const int code =
        m_plot->axisRect()->rect().contains(event->pos()) ? codeAtPlotX(event->position().x()) : -1;
    if (code < 0 || code >= m_usage.counts.size()) return QToolTip::hideText();
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("code %1: %2 cells").arg(code).arg(m_usage.counts[code]), m_plot);
}

void CodeGridEditor::updatePaletteTexts() {
    const bool counted = m_usage.counts.size() == m_palette->count();
    for (int k = 0; k < m_palette->count(); ++k) {
        QListWidgetItem* item = m_palette->item(k);
        const qint64 uses = counted ? m_usage.counts[k] : -1;
        // Two lines even before the count: the view sizes every item like the first one.
        item->setText(counted ? QStringLiteral("#%1\n%2\u00d7").arg(k).arg(uses)
                              : QStringLiteral("#%1\n\u2026").arg(k));
        item->setForeground(counted && uses == 0 ? kDeadColour : palette().color(QPalette::Text));
        item->setToolTip(
            counted ? tr("Code %1: %2 cells in %3 held-out images%4. The picture: a grid filled "
                         "with it, decoded.")
                          .arg(k)
                          .arg(uses)
                          .arg(m_usage.images)
                          .arg(uses == 0 ? tr(" (dead)") : QString())
                    : tr("Code %1. The picture: a grid filled with it, decoded.").arg(k));
    }
}

void CodeGridEditor::updateStatus() {
    if (m_codes.isEmpty()) {
        m_status->setText(tr("Invert an image with a VQ-VAE to edit its codes."));
        return;
    }
    int edited = 0;
    for (int i = 0; i < m_codes.size(); ++i) edited += m_codes[i] != m_encoded.value(i);
    QString text;
    const int cell = m_grid->selectedCell();
    if (paintMode())
        text = tr("Painting with code %1.").arg(m_currentCode);
    else if (cell >= 0)
        text = m_levels.size() > 1
                   ? tr("Cell of the %1: code %2.").arg(cellName(m_levels, cell)).arg(m_codes[cell])
                   : tr("Cell (%1, %2): code %3.")
                         .arg(cell / m_grid->cols())
                         .arg(cell % m_grid->cols())
                         .arg(m_codes[cell]);
    else
        text = tr("Click a cell, then pick its new code.");
    text += tr(" %n cell(s) edited", nullptr, edited);
    if (m_shownDecode > 0 && m_lastDecode.error.isEmpty())
        text += tr("; %1 pixels changed; decode %2 ms")
                    .arg(m_lastDecode.changedPixels)
                    .arg(QString::number(m_lastDecode.ms, 'f', 1));
    m_status->setText(text + QLatin1Char('.'));
}

void CodeGridEditor::updateButtons() {
    m_undoButton->setEnabled(!m_undo.isEmpty());
    m_resetButton->setEnabled(!m_encoded.isEmpty());
}

}  // namespace le
