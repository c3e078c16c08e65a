#include "ui/widgets/view_controls.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>

#include <qcustomplot.h>

namespace le {

void fillDatasetCombo(QComboBox* combo, const QVector<CatalogEntry>& entries,
                      const EntryFilter& accepts, const QString& preferred) {
    const QString current = combo->currentText();
    QStringList datasets;
    for (const CatalogEntry& e : entries)
        if (accepts(e) && !datasets.contains(e.dataset)) datasets << e.dataset;
    const QSignalBlocker block(combo);
    combo->clear();
    combo->addItems(datasets);
    int index = combo->findText(current);
    if (index < 0) index = combo->findText(preferred);
    combo->setCurrentIndex(std::max(index, 0));
}

QVector<CatalogEntry> modelsOfDataset(const QVector<CatalogEntry>& entries, const QString& dataset,
                                      const EntryFilter& accepts) {
    QVector<CatalogEntry> models;
    for (const CatalogEntry& e : entries)
        if (e.dataset == dataset && accepts(e)) models.push_back(e);
    return models;
}

bool sameModels(const QVector<CatalogEntry>& a, const QVector<CatalogEntry>& b) {
    if (a.size() != b.size()) return false;
    for (int i = 0; i < a.size(); ++i)
        if (a[i].path != b[i].path) return false;
    return true;
}

QScrollArea* addModelGrid(QWidget* parent, const QStringList& headers, QGridLayout** grid) {
    constexpr int kMaxRows = 64;  // the stretch row below every model's row
    auto* scroll = new QScrollArea(parent);
    scroll->setWidgetResizable(true);
    auto* inner = new QWidget(scroll);
    auto* layout = new QGridLayout(inner);
    layout->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    layout->setHorizontalSpacing(10);
    for (int c = 0; c < headers.size(); ++c)
        layout->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(headers[c]), inner), 0, c);
    layout->setRowStretch(kMaxRows, 1);
    layout->setColumnStretch(int(headers.size()), 1);
    scroll->setWidget(inner);
    *grid = layout;
    return scroll;
}

QLabel* modelRowTitle(const CatalogEntry& entry, const QString& route, QWidget* parent) {
    auto* title =
        new QLabel(QStringLiteral("<b>%1</b><br>%2<br><small>%3</small>")
                       .arg(familyTitle(entry.family), route, QFileInfo(entry.path).fileName()),
                   parent);
    title->setToolTip(entry.path);
    return title;
}

QSpinBox* newDatasetItemBox(QWidget* parent, const QString& toolTip) {
    auto* box = new QSpinBox(parent);
    box->setRange(0, 1999);
    box->setPrefix(QObject::tr("item "));
    box->setToolTip(toolTip);
    return box;
}

QString askForImageFile(QWidget* parent, const QString& title, const QString& settingsKey) {
    return QFileDialog::getOpenFileName(
        parent, title, QSettings().value(settingsKey).toString(),
        QObject::tr("Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff);;All files (*)"));
}

RunControls addRunControls(QFormLayout* form, QWidget* parent, const ButtonText& run,
                           const QString& progressToolTip, const QString& cancelToolTip) {
    RunControls controls;
    if (!run.text.isEmpty()) {
        controls.run = new QPushButton(run.text, parent);
        controls.run->setToolTip(run.toolTip);
        form->addRow(controls.run);
    }
    auto* row = new QHBoxLayout;
    controls.progress = new QProgressBar(parent);
    controls.progress->setToolTip(progressToolTip);
    controls.cancel = new QPushButton(QObject::tr("Cancel"), parent);
    controls.cancel->setToolTip(cancelToolTip);
    row->addWidget(controls.progress, 1);
    row->addWidget(controls.cancel);
    form->addRow(row);
    return controls;
}

std::pair<QPushButton*, QPushButton*> addExportRow(QFormLayout* form, QWidget* parent,
                                                   const ButtonText& first,
                                                   const ButtonText& second) {
    auto button = [parent](const ButtonText& text, const QKeySequence& keys) {
        auto* b = new QPushButton(text.text, parent);
        b->setToolTip(text.toolTip);
        b->setShortcut(keys);
        return b;
    };
    auto* a = button(first, QKeySequence(Qt::CTRL | Qt::Key_E));
    auto* b = button(second, QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(QObject::tr("Export"), parent));
    row->addWidget(a);
    row->addWidget(b);
    form->addRow(row);
    return {a, b};
}

QLabel* addStatusLine(QFormLayout* form, QWidget* parent) {
    auto* status = new QLabel(parent);
    status->setWordWrap(true);
    status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(status);
    return status;
}

void setIntegerTicks(QCPAxis* axis) {
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);  // 1, 2, 5, 10, 50...: whole steps
    axis->setTicker(ticker);
}

}  // namespace le
