#pragma once

// The checkpoints a view can offer: every generative *.lec in some folders, read by header only
// (no weights), with the capabilities of its family so that a view lists only what can serve it.

#include "models/generative_model.h"

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

namespace le {

struct CatalogEntry {
    QString path;
    QString family;   // "vae", "dcgan", "glow", "pixelcnn", "vqvae"
    QString dataset;  // what it was trained on
    ImageShape shape;
    Capabilities capabilities;
    qint64 steps = 0;

    // "PixelCNN · fashion-mnist" (with the file name when `withFile`).
    QString title(bool withFile = false) const;
};

// Reads one checkpoint's header; throws DataError naming the file. Classifiers are refused.
CatalogEntry catalogEntry(const QString& path);
// Every generative model in `dirs` (*.lec and TorchScript *.pt, *.ts, *.pth, sorted by file
// name) and in `files`; unreadable files, classifiers and TorchScript files without the
// contract's metadata are skipped (their problem goes to `skipped`, "file: reason", when given).
QVector<CatalogEntry> scanCheckpoints(const QStringList& dirs, const QStringList& files = {},
                                      QStringList* skipped = nullptr);
// What the model registry knows of a family (models/generative_model.h FamilyInfo), for views
// that must not know families by name. A family this build lacks reads as its own name.
QString familyTitle(const QString& family);  // "VAE", "DCGAN", "Glow", "PixelCNN", "VQ-VAE"
QString temperatureMeaning(const QString& family);
QString likelihoodBoundName(const QString& family);  // "ELBO", or "bound"
ModelKind familyKind(const QString& family);
bool familyTakesLatentSize(const QString& family);
// Every registered family with what T means to it, in registration order: "Title: meaning"
// joined by `separator` (titles in <b> and meanings escaped when `html`).
QString temperatureMeanings(const QString& separator, bool html = false);

}  // namespace le

Q_DECLARE_METATYPE(le::CatalogEntry)
