#pragma once

// What every view's workspaceState()/restoreWorkspaceState() shares: controls to JSON and back.
// Restoring sets a control only when the workspace has a usable value for it, so a workspace of
// an older version (or one edited by hand) keeps the control's own default for what it lacks;
// a choice the control no longer offers becomes a warning in the context.

#include "core/storage/workspace.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QVector>

class QAbstractButton;
class QAbstractSlider;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace le {

// Whether two paths name the same file (symbolic links and "..", as far as the files exist).
bool sameFile(const QString& a, const QString& b);

// Selects the item whose text is the value's; true when it did.
bool restoreComboText(QComboBox* combo, const QJsonValue& value, WorkspaceContext& context,
                      const QString& what);
// Selects the item whose data is the value's string (a checkpoint path, a family key).
bool restoreComboData(QComboBox* combo, const QJsonValue& value, WorkspaceContext& context,
                      const QString& what);
// Sets a number control (clamped to its range, as typing would) when the value is a number.
void restoreValue(QSpinBox* spin, const QJsonValue& value);
void restoreValue(QDoubleSpinBox* spin, const QJsonValue& value);
void restoreValue(QAbstractSlider* slider, const QJsonValue& value);
void restoreChecked(QAbstractButton* button, const QJsonValue& value);

QJsonArray toJsonArray(const QVector<float>& values);
QJsonArray toJsonArray(const QVector<int>& values);
// The numbers of an array (non-numbers dropped); empty for anything else.
QVector<float> floatsFromJson(const QJsonValue& value);
QVector<int> intsFromJson(const QJsonValue& value);

}  // namespace le
