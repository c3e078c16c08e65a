#pragma once

// A training run as kept on disk, in a folder of its own: run.json (the spec and the status), the
// trainer's metrics.jsonl and snapshots/, model.lec. TrainingJob writes it; the Training view
// reads runs back after a restart.

#include "models/generative_model.h"

#include <QJsonObject>
#include <QMetaType>
#include <QString>
#include <QVector>

namespace le {

constexpr const char* kRunJsonName = "run.json";
constexpr const char* kRunCheckpointName = "model.lec";

struct TrainingSpec {
    QString family = QStringLiteral("vae");
    QString dataset = QStringLiteral("fashion-mnist");  // a name or an image folder
    qint64 latent = 16;                                 // VAE and DCGAN only
    qint64 steps = 2000;
    qint64 batch = 64;
    double learningRate = 0;  // 0: the family's default
    quint64 seed = 1;
    QString device = QStringLiteral("auto");
    QString options;  // further config, "key=value key=value" (hidden=32 beta=2)

    QJsonObject toJson() const;
    static TrainingSpec fromJson(const QJsonObject& json);

    // The model config: family defaults, the latent where the family has one, the options.
    // DataError for an option that is not key=value.
    ModelConfig config(const ImageShape& shape) const;
    QString title() const;  // "VAE · fashion-mnist · 2000 steps"
};

struct LossPoint {
    qint64 step = 0;
    double seconds = 0;
    double loss = 0;
};

// A run as kept on disk.
struct RunRecord {
    QString dir;
    QString name;    // the folder's name
    QString status;  // "running", "finished", "cancelled", "diverged", "failed", "interrupted"
    QString message;
    TrainingSpec spec;
    qint64 stepsDone = 0;
    QVector<LossPoint> losses;
    QString checkpointPath;  // model.lec when it exists, else empty
    QString snapshotPath;    // the newest snapshot, else empty
};

// Reads run.json and metrics.jsonl of one run folder; DataError naming the folder if run.json is
// missing or malformed. A run that says "running" but is not (the app was closed) reads as
// "interrupted".
RunRecord readRun(const QString& dir);
// Every readable run under `runsDir`, oldest first; unreadable folders are skipped.
QVector<RunRecord> listRuns(const QString& runsDir);

}  // namespace le

Q_DECLARE_METATYPE(le::LossPoint)
