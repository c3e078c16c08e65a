#include "core/storage/model_catalog.h"

#include "core/errors.h"
#include "core/storage/checkpoint.h"
#include "models/torchscript_model.h"

#include <QDir>
#include <QFileInfo>
#include <QSet>

#include <algorithm>

namespace le {

namespace {

// The registry's entry (or a TorchScript kind's), or null for a family this build does not have.
const FamilyInfo* infoOf(const QString& family) {
    const ModelRegistry& registry = ModelRegistry::instance();
    const std::string name = family.toStdString();
    if (const FamilyInfo* torchScript = torchScriptFamilyInfo(name)) return torchScript;
    return registry.has(name) ? &registry.info(name) : nullptr;
}

}  // namespace

QString familyTitle(const QString& family) {
    const FamilyInfo* info = infoOf(family);
    return info ? QString::fromStdString(info->title) : family;
}

QString temperatureMeaning(const QString& family) {
    const FamilyInfo* info = infoOf(family);
    return info && !info->temperatureMeaning.empty()
               ? QString::fromStdString(info->temperatureMeaning)
               : QStringLiteral("the prior's spread");
}

QString likelihoodBoundName(const QString& family) {
    const FamilyInfo* info = infoOf(family);
    return QString::fromStdString(info ? info->boundName : std::string("bound"));
}

ModelKind familyKind(const QString& family) {
    const FamilyInfo* info = infoOf(family);
    return info ? info->kind : ModelKind::Other;
}

bool familyTakesLatentSize(const QString& family) {
    const FamilyInfo* info = infoOf(family);
    return info && info->latentSize;
}

QString temperatureMeanings(const QString& separator, bool html) {
    QStringList lines;
    for (const std::string& name : ModelRegistry::instance().families()) {
        const QString family = QString::fromStdString(name);
        const QString title = familyTitle(family), meaning = temperatureMeaning(family);
        lines << (html ? QStringLiteral("<b>%1</b>: %2")
                             .arg(title.toHtmlEscaped(), meaning.toHtmlEscaped())
                       : QStringLiteral("%1: %2").arg(title, meaning));
    }
    return lines.join(separator);
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
    if (isTorchScriptFamily(header.family.toStdString())) {
        // No family to build; the header was read by loading and checking the module, and its
        // methods are what it can do.
        std::vector<std::string> methods;
        for (const QString& m : QString::fromStdString(header.config.getString("methods", ""))
                                    .split(',', Qt::SkipEmptyParts))
            methods.push_back(m.toStdString());
        entry.capabilities = torchScriptCapabilities(methods);
        return entry;
    }
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
            QDir(dir).entryInfoList(modelFileFilters(), QDir::Files, QDir::Name);
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
