#pragma once

// One file per model (a generative family, or the project's classifier as family "classifier"): a
// magic line, a JSON header validated before any weights are read, the weights as a LibTorch
// archive, and a SHA-256 trailer over everything before it. Written atomically (QSaveFile: write,
// flush, rename), so a crash never leaves a half-written file.
//
//   LATENT-EXPLORER-CHECKPOINT\n
//   <header length, decimal>\n<header JSON>
//   <weights length, decimal>\n<weights>
//   <sha256 hex of all the bytes above>\n
//
// A TorchScript model (docs/torchscript.md) opens through the same two functions: a file that
// starts as a zip archive does ("PK\3\4"; also any *.pt, *.ts, *.pth, so that a damaged one is
// reported as TorchScript). Its header is synthesised from the metadata inside it (family
// "torchscript-<kind>", config: kind, title, latent, methods), and saving one is refused.

#include "models/classifier.h"
#include "models/generative_model.h"

#include <QJsonObject>
#include <QString>

#include <memory>

namespace le {

constexpr int kCheckpointFormat = 1;

struct CheckpointHeader {
    int format = kCheckpointFormat;
    QString family;
    ModelConfig config;
    QString dataset;  // what it was trained on: "fashion-mnist", "faces", a path
    ImageShape shape;
    qint64 steps = 0;
    QJsonObject metrics;  // held-out metrics at save time
    QString created;      // ISO 8601, UTC
    QJsonObject extra;    // anything else worth keeping (recipe, seed, wall time)

    QJsonObject toJson() const;
    // Throws DataError naming `path` for a missing or malformed field.
    static CheckpointHeader fromJson(const QJsonObject& json, const QString& path);
};

struct LoadedCheckpoint {
    CheckpointHeader header;
    std::unique_ptr<GenerativeModel> model;
};

// Family, config and shape are taken from the model; the rest from `header`.
// Throws DataError naming the file if it cannot be written.
void saveCheckpoint(const QString& path, GenerativeModel& model, CheckpointHeader header);

// Reads and validates the header only (cheap: no weights are parsed). A TorchScript file has no
// header apart from its module: it is loaded and checked whole (as loadCheckpoint does).
CheckpointHeader readCheckpointHeader(const QString& path);

// The file names a model may have, as name filters: "*.lec" and the TorchScript suffixes. For
// folder scans and file dialogs; opening a file goes by its contents first.
QStringList modelFileFilters();

// parseDevice ("auto", "cpu", "cuda", "cuda:N") for a name from the user or a view, failing with
// a DataError like every other problem the jobs report.
torch::Device deviceFromName(const QString& name);

// Full load: header, checksum, family (if `expectedFamily` is given), then weights by name and
// shape. Every failure is a DataError naming the file and the problem.
// A classifier file is refused here: it is not a generative model (see loadClassifierCheckpoint).
LoadedCheckpoint loadCheckpoint(const QString& path, torch::Device device = torch::kCPU,
                                const QString& expectedFamily = QString());

// The project's classifier in the same container, family "classifier": the same validation
// (signature, header, checksum, family, weights by name and shape), DataErrors naming the file.
struct LoadedClassifier {
    CheckpointHeader header;
    std::unique_ptr<Classifier> classifier;
};
void saveClassifierCheckpoint(const QString& path, Classifier& classifier, CheckpointHeader header);
LoadedClassifier loadClassifierCheckpoint(const QString& path, torch::Device device = torch::kCPU);

}  // namespace le
