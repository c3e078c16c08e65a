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
// Every generative *.lec (sorted by file name) in `dirs` and `files`; unreadable files and
// classifiers are skipped (their problem goes to `skipped`, "file: reason", when given).
QVector<CatalogEntry> scanCheckpoints(const QStringList& dirs, const QStringList& files = {},
                                      QStringList* skipped = nullptr);
// Pretty family name: "VAE", "DCGAN", "Glow", "PixelCNN", "VQ-VAE".
QString familyTitle(const QString& family);

}  // namespace le

Q_DECLARE_METATYPE(le::CatalogEntry)
