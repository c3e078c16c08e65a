#pragma once

// Pieces every job view builds the same way: tab-wide shortcuts, the "models of this dataset"
// picker, the image source (a dataset item, an image file), the run / progress / cancel block, the
// two-button export row and the status line. The
// view keeps the widgets and makes the connections; these only build and lay them out alike.

#include "core/storage/model_catalog.h"

#include <QAction>
#include <QKeySequence>
#include <QString>
#include <QVector>
#include <QWidget>

#include <functional>

class QCPAxis;
class QComboBox;
class QFormLayout;
class QGridLayout;
class QScrollArea;
class QSpinBox;
class QLabel;
class QProgressBar;
class QPushButton;

namespace le {

// A shortcut active while the focus is anywhere in `view` (its tab), calling `slot` (a member
// function of View or a functor).
template <class View, class Slot>
QAction* addViewShortcut(View* view, const QKeySequence& keys, Slot slot) {
    auto* action = new QAction(view);
    action->setShortcut(keys);
    action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    QObject::connect(action, &QAction::triggered, view, slot);
    view->QWidget::addAction(action);
    return action;
}

// Which catalog entries a view shows (e.g. those that can sample).
using EntryFilter = std::function<bool(const CatalogEntry&)>;

// Refills `combo` with the datasets that have at least one entry `accepts`, in catalog order,
// without emitting signals. The current choice stays when it is still there, else `preferred`
// when present, else the first.
void fillDatasetCombo(QComboBox* combo, const QVector<CatalogEntry>& entries,
                      const EntryFilter& accepts, const QString& preferred = {});

// The entries of `dataset` that `accepts`, in catalog order.
QVector<CatalogEntry> modelsOfDataset(const QVector<CatalogEntry>& entries, const QString& dataset,
                                      const EntryFilter& accepts);

// Whether two lists name the same checkpoints in the same order (a rescan that changed nothing
// for a view keeps its results).
bool sameModels(const QVector<CatalogEntry>& a, const QVector<CatalogEntry>& b);

// A scrolling grid of model rows: row 0 holds a bold header per column, model rows start at 1
// and stay packed at the top left however large the tab is. `grid` receives the layout.
QScrollArea* addModelGrid(QWidget* parent, const QStringList& headers, QGridLayout** grid);

// The first cell of a model row: family, how the view uses it, file name; the path on hover.
QLabel* modelRowTitle(const CatalogEntry& entry, const QString& route, QWidget* parent);

// A spin box choosing one of the dataset's first 2000 test images, shown as "item N".
QSpinBox* newDatasetItemBox(QWidget* parent, const QString& toolTip);

// The image-file dialog of every view: starts at the location stored under `settingsKey` (a file
// or a folder), lists the image types OpenCV reads. Returns the chosen path or an empty string.
QString askForImageFile(QWidget* parent, const QString& title, const QString& settingsKey);

struct ButtonText {
    QString text;
    QString toolTip;
};

struct RunControls {
    QPushButton* run = nullptr;  // null when no run text was given
    QProgressBar* progress = nullptr;
    QPushButton* cancel = nullptr;
};

// Adds to `form` a run button (when `run.text` is set), then a progress bar with a Cancel button
// beside it.
RunControls addRunControls(QFormLayout* form, QWidget* parent, const ButtonText& run,
                           const QString& progressToolTip, const QString& cancelToolTip);

// Adds "Export" and two buttons: the first on Ctrl+E, the second on Ctrl+Shift+E.
std::pair<QPushButton*, QPushButton*> addExportRow(QFormLayout* form, QWidget* parent,
                                                   const ButtonText& first,
                                                   const ButtonText& second);

// Adds a word-wrapped, selectable status line.
QLabel* addStatusLine(QFormLayout* form, QWidget* parent);

// Ticks at whole numbers only, for an axis of codes or pixel values: never "2.5" for a code.
void setIntegerTicks(QCPAxis* axis);

}  // namespace le
