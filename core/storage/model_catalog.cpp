#include "core/storage/model_catalog.h"

#include "core/storage/checkpoint.h"
#include "core/errors.h"

#include <QDir>
#include <QFileInfo>
#include <QSet>

#include <algorithm>

namespace le {

QString familyTitle(const QString& family) {
    if (family == QLatin1String("vqvae")) return QStringLiteral("VQ-VAE");
    if (family == QLatin1String("vae") || family == QLatin1String("dcgan")) return family.toUpper();
    if (family == QLatin1String("pixelcnn")) return QStringLiteral("PixelCNN");
    if (family.isEmpty()) return family;
    return family.at(0).toUpper() + family.mid(1);
}

QString CatalogEntry::title(bool withFile) const {
    QString text = familyTitle(family) + QStringLiteral(" \u00b7 ") + dataset;
    if (withFile) text += QStringLiteral(" (%1)").arg(QFileInfo(path).fileName());
    return text;
}

CatalogEntry catalogEntry(const QString& path) {
    const CheckpointHeader header = readCheckpointHeader(path);
    if (header.family == QLatin1String("classifier"))
        throw DataError(QStringLiteral("%1: a classifier, not a generative model")
                            .arg(QFileInfo(path).fileName())
                            .toStdString());
    CatalogEntry entry;
    entry.path = QFileInfo(path).absoluteFilePath();
    entry.family = header.family;
    entry.dataset = header.dataset;
    entry.shape = header.shape;
    entry.steps = header.steps;
    try {
        // Building the untrained model is cheap at these sizes and the only honest source of
        // what the family can do.
        entry.capabilities = ModelRegistry::instance()
                                 .create(header.family.toStdString(), header.config)
                                 ->capabilities();
    } catch (const std::exception& e) {
        throw DataError(QStringLiteral("%1: %2")
                            .arg(QFileInfo(path).fileName(), QString::fromUtf8(e.what()))
                            .toStdString());
    }
    return entry;
}

QVector<CatalogEntry> scanCheckpoints(const QStringList& dirs, const QStringList& files,
                                      QStringList* skipped) {
    QStringList paths;
    for (const QString& dir : dirs) {
        const QFileInfoList found =
            QDir(dir).entryInfoList({QStringLiteral("*.lec")}, QDir::Files, QDir::Name);
        for (const QFileInfo& info : found) paths << info.absoluteFilePath();
    }
    for (const QString& file : files) paths << QFileInfo(file).absoluteFilePath();

    QVector<CatalogEntry> entries;
    QSet<QString> seen;
    for (const QString& path : paths) {
        if (seen.contains(path)) continue;
        seen.insert(path);
        try {
            entries.push_back(catalogEntry(path));
        } catch (const std::exception& e) {
            if (skipped) skipped->push_back(QString::fromUtf8(e.what()));
        }
    }
    return entries;
}

}  // namespace le
