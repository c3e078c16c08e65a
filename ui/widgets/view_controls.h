#pragma once

// Pieces every job view builds the same way: tab-wide shortcuts, the run / progress / cancel
// block, the two-button export row and the status line. The view keeps the widgets and makes
// the connections; these only build and lay them out alike.

#include <QAction>
#include <QKeySequence>
#include <QString>
#include <QWidget>

class QFormLayout;
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

}  // namespace le
