#include "ui/workspace_state.h"

#include <QAbstractButton>
#include <QAbstractSlider>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QSpinBox>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

bool selectIndex(QComboBox* combo, int index, const QString& wanted, WorkspaceContext& context,
                 const QString& what) {
    if (index < 0) {
        context.warn(QStringLiteral("%1: \"%2\" is not on offer here").arg(what, wanted));
        return false;
    }
    combo->setCurrentIndex(index);
    return true;
}

QString canonical(const QString& path) {
    const QFileInfo info(path);
    const QString resolved = info.canonicalFilePath();
    return resolved.isEmpty() ? QDir::cleanPath(info.absoluteFilePath()) : resolved;
}

}  // namespace

bool sameFile(const QString& a, const QString& b) {
    return !a.isEmpty() && !b.isEmpty() && canonical(a) == canonical(b);
}

bool restoreComboText(QComboBox* combo, const QJsonValue& value, WorkspaceContext& context,
                      const QString& what) {
    if (!value.isString() || value.toString().isEmpty()) return false;
    return selectIndex(combo, combo->findText(value.toString()), value.toString(), context, what);
}

bool restoreComboData(QComboBox* combo, const QJsonValue& value, WorkspaceContext& context,
                      const QString& what) {
    if (!value.isString() || value.toString().isEmpty()) return false;
    return selectIndex(combo, combo->findData(value.toString()), value.toString(), context, what);
}

void restoreValue(QSpinBox* spin, const QJsonValue& value) {
    if (value.isDouble() && std::isfinite(value.toDouble()))
        spin->setValue(int(std::clamp<double>(value.toDouble(), spin->minimum(), spin->maximum())));
}

void restoreValue(QDoubleSpinBox* spin, const QJsonValue& value) {
    if (value.isDouble() && std::isfinite(value.toDouble())) spin->setValue(value.toDouble());
}

void restoreValue(QAbstractSlider* slider, const QJsonValue& value) {
    if (value.isDouble() && std::isfinite(value.toDouble()))
        slider->setValue(
            int(std::clamp<double>(value.toDouble(), slider->minimum(), slider->maximum())));
}

void restoreChecked(QAbstractButton* button, const QJsonValue& value) {
    if (value.isBool()) button->setChecked(value.toBool());
}

QJsonArray toJsonArray(const QVector<float>& values) {
    QJsonArray array;
    for (float v : values) array.append(double(v));
    return array;
}

QJsonArray toJsonArray(const QVector<int>& values) {
    QJsonArray array;
    for (int v : values) array.append(v);
    return array;
}

QVector<float> floatsFromJson(const QJsonValue& value) {
    QVector<float> out;
    for (const QJsonValue& v : value.toArray())
        if (v.isDouble() && std::isfinite(v.toDouble())) out << float(v.toDouble());
    return out;
}

QVector<int> intsFromJson(const QJsonValue& value) {
    QVector<int> out;
    for (const QJsonValue& v : value.toArray())
        if (v.isDouble()) out << v.toInt();
    return out;
}

}  // namespace le
