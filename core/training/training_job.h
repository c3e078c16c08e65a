#pragma once

// Training for the GUI: one run of core/trainer.h in its own thread, in a folder of its own
// (run.json with the spec and status, the trainer's metrics.jsonl and snapshots/, model.lec), with
// pause, resume and stop, throttled progress carrying the loss points since the last report, and
// sample snapshots. Runs on disk are read back by run_record.h.

#include "core/training/run_record.h"

#include <QMetaType>
#include <QString>
#include <QThread>
#include <QVector>

#include <opencv2/core.hpp>

#include <atomic>
#include <mutex>

namespace le {

class Trainer;

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
