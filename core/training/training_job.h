#pragma once

// Training for the GUI: one run of core/trainer.h in its own thread, in a folder of its own
// (run.json with the spec and status, the trainer's metrics.jsonl and snapshots/, model.lec), with
// pause, resume and stop, throttled progress carrying the loss points since the last report, and
// sample snapshots. Runs on disk are read back after a restart (readRun / listRuns).

#include "models/generative_model.h"

#include <QMetaType>
#include <QString>
#include <QThread>
#include <QVector>

#include <opencv2/core.hpp>

#include <atomic>
#include <mutex>

namespace le {

class Trainer;

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

class TrainingJob final : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrainingJob)

public:
    explicit TrainingJob(QObject* parent = nullptr);
    ~TrainingJob() override;  // stop and wait

    // Starts a run in a new folder under `runsDir` (named by time, family and dataset); returns
    // that folder. False-y (empty) and nothing started if a run is going.
    QString begin(const TrainingSpec& spec, const QString& runsDir);
    void setPaused(bool paused);  // thread-safe
    void stop();                  // thread-safe; the run keeps what it learned
    bool isPaused() const { return m_paused; }
    QString runDir() const { return m_runDir; }

signals:
    // Throttled to a few a second; `points` holds every step's loss since the last report.
    void progress(const QString& runDir, qint64 step, qint64 total, double seconds,
                  const QVector<le::LossPoint>& points);
    void snapshot(const QString& runDir, qint64 step, const cv::Mat& grid);
    // status: "finished", "cancelled", "diverged" (message says where and what was kept),
    // "failed" (message says why).
    void runFinished(const QString& runDir, const QString& status, const QString& message,
                     const QString& checkpointPath);

protected:
    void run() override;

private:
    void writeRunJson(const QString& status, const QString& message, qint64 steps);

    TrainingSpec m_spec;
    QString m_runDir;
    std::mutex m_trainerMutex;
    Trainer* m_trainer = nullptr;  // while run() is in the trainer loop
    std::atomic<bool> m_paused{false};
    std::atomic<bool> m_stop{false};
};

}  // namespace le

Q_DECLARE_METATYPE(le::LossPoint)
