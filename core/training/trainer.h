#pragma once

// Runs a model's training steps over a dataset with progress, pause, cancel, a NaN/Inf guard,
// periodic held-out evaluation, sample snapshots, atomic checkpoints and a JSON-lines metrics log.
// A plain class: it runs in whatever thread calls run(); cancel() and setPaused() are thread-safe.
// Evaluations, snapshots and checkpoints use the model's weight average where its family keeps
// one, and the model ends the run holding it (what the checkpoint holds). Step numbers in the
// log and the checkpoint count from options.firstStep.
//
// Data-parallel (options.sync set): each worker runs a Trainer on a replica of the model. They
// start from rank 0's weights, shuffle alike (one seed) and each takes its share of every global
// batch (batchSize per worker); clippedStep averages the gradient, and after every step one more
// collective averages the step's losses and the model's buffers (running statistics, EMA
// codebooks), so every replica logs, diverges and continues alike. The first step's weights are
// rank 0's again (a family that initialises weights from its first batch, as Glow's ActNorm
// does, would otherwise split). Rank 0 alone evaluates, logs, snapshots and saves; the others
// wait for it in the next step's collective. Cancel and pause are for a run alone.

#include "core/data/dataset.h"
#include "core/storage/checkpoint.h"

#include <QJsonObject>
#include <QString>

#include <opencv2/core.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace le {

class GradientSync;

struct TrainOptions {
    qint64 steps = 1000;
    qint64 firstStep = 0;     // steps the model took before this run (a run continuing another)
    qint64 batchSize = 64;    // per worker: the global batch is batchSize x the workers
    double learningRate = 0;  // 0: the model's own default
    quint64 seed = 1;
    qint64 logEvery = 10;        // train metrics into the log
    qint64 evalEvery = 0;        // held-out metrics; 0: only at the end
    qint64 evalImages = 2000;    // test images per evaluation
    qint64 snapshotEvery = 0;    // sample grids; 0: none
    qint64 checkpointEvery = 0;  // 0: only at the end
    QString checkpointPath;      // empty: no checkpoint
    QString runDir;              // metrics.jsonl, snapshots/; empty: none
    QJsonObject extraHeader;     // copied into the checkpoint header's "extra"

    // Data-parallel: this worker's group; null: alone.
    std::shared_ptr<GradientSync> sync;
};

struct TrainProgress {
    qint64 step = 0;
    qint64 totalSteps = 0;
    Metrics train;    // this step's losses
    Metrics heldOut;  // filled on evaluation steps only
    double elapsedS = 0;
    double imagesPerSecond = 0;
};

enum class TrainStatus { Finished, Cancelled, Diverged };

struct TrainResult {
    TrainStatus status = TrainStatus::Finished;
    qint64 steps = 0;  // steps completed and kept
    Metrics heldOut;   // on the test split at the end (or at the last good state)
    double wallS = 0;
    QString message;  // why it stopped, for the user
    // Data-parallel: the largest difference between any worker's final weights (and buffers)
    // and rank 0's; 0 when the replicas stayed in step.
    double replicaDifference = 0;
};

QString statusName(TrainStatus status);

// Mean of the model's evaluate() over up to maxImages of `set`, without gradients.
Metrics evaluateModel(GenerativeModel& model, const ImageSet& set, qint64 maxImages = 2000,
                      qint64 batchSize = 250);

QJsonObject metricsToJson(const Metrics& metrics);

class Trainer {
public:
    Trainer(GenerativeModel& model, const Dataset& data, TrainOptions options);

    void setProgressCallback(std::function<void(const TrainProgress&)> callback);
    void setSnapshotCallback(std::function<void(qint64 step, const cv::Mat& grid)> callback);

    TrainResult run();
    void cancel();
    void setPaused(bool paused);

private:
    bool leads() const;  // rank 0, or alone: evaluates, logs, snapshots and saves
    int workerCount() const;
    torch::Tensor nextBatch();
    void adoptRankZeroState();
    Metrics syncStep(const Metrics& metrics, qint64 step);
    double replicaDifference();
    void log(const QJsonObject& line);
    void flushLog();
    void snapshot(qint64 step);
    void saveAt(qint64 step, const Metrics& heldOut);

    GenerativeModel& m_model;
    const Dataset& m_data;
    TrainOptions m_options;
    std::function<void(const TrainProgress&)> m_progress;
    std::function<void(qint64, const cv::Mat&)> m_snapshot;

    torch::Tensor m_order;  // shuffled indices of the current epoch
    qint64 m_cursor = 0;
    torch::Generator m_generator;
    QByteArray m_logLines;

    std::atomic<bool> m_cancel{false};
    std::mutex m_pauseMutex;
    std::condition_variable m_pauseChanged;
    bool m_paused = false;
};

}  // namespace le
