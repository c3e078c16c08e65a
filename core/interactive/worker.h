#pragma once

// The interactive worker: a QObject living in its own QThread, owning the ModelEngine.
// Requests arrive from any thread; drags coalesce (latest wins) and every result carries the id
// of the request it answers, so the GUI can drop stale ones. Errors come back as data.
//
// Likelihood meter: after each decode (once the image is emitted, never before) the worker scores
// the 8-bit image with every scoring model of the loaded model's dataset and emits `scored` with
// the same id. Scoring yields to the next drag: it is skipped when a newer request already waits,
// cut short between models when one arrives (the rows not scored keep their last value, marked
// not fresh), and during a fast drag runs at most once per kScoreIntervalMs (the newest image is
// scored when the interval ends), so the decodes keep their pace and the meter still moves. The
// reference bands (held-out images under each scorer) are measured after a load in slices of a few
// tens of milliseconds whenever no drag is going on, so a load is not slower and a drag never waits
// on them; each completed band re-emits the meter for the last scored image.

#include "core/interactive/engine.h"
#include "core/metrics/likelihood_meter.h"

#include <QElapsedTimer>
#include <QMutex>
#include <QObject>
#include <QThread>

#include <atomic>
#include <optional>

namespace le {

struct DecodeResult {
    quint64 id = 0;
    cv::Mat image;        // CV_8UC1 or CV_8UC3 (RGB); empty on error
    double decodeMs = 0;  // model + conversion time in the worker
    QString error;
};

class InteractiveWorker final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InteractiveWorker)

public:
    InteractiveWorker();
    ~InteractiveWorker() override;

    // Thread-safe. Replaces any pending decode: only the newest request is decoded.
    void requestDecode(quint64 id, const QVector<float>& latent);
    // Thread-safe. Loads a checkpoint and its dataset's latent map; answers modelLoaded or failed.
    void requestLoad(const QString& checkpointPath, const QString& device);

    // Thread-safe. The checkpoints that may score decoded images (say, every one the views
    // offer): those of the loaded model's dataset and image shape with an exact likelihood or a
    // bound are loaded (the loaded model too, when it qualifies). Takes effect at once and for
    // every later load. None (the default): no scoring, `scored` carries no rows.
    void setScoringCheckpoints(const QStringList& paths);

    int decodesRun() const { return m_decodesRun.load(); }
    int scoresRun() const { return m_scoresRun.load(); }

    // Held-out slices of this many milliseconds measure the reference bands, once no decode has
    // been asked for during kBandQuietMs (a drag goes first).
    static constexpr double kBandSliceMs = 25.0;
    static constexpr int kBandQuietMs = 150;
    // During a drag the meter scores at most this often.
    static constexpr int kScoreIntervalMs = 50;

signals:
    void modelLoaded(const le::ModelInfo& info, const le::LatentMap& map);
    void decoded(const le::DecodeResult& result);
    // After `decoded` with the same id (never for an id whose image was not emitted).
    void scored(const le::ScoreResult& result);
    void failed(const QString& message);

private:
    void processPendingDecode();
    void load(const QString& checkpointPath, const QString& device);
    void prepareScorers();
    void queueBandSlice();
    void measureBands();
    void scoreLatest();
    bool decodeWaiting();

    ModelEngine m_engine;
    QMutex m_mutex;
    std::optional<std::pair<quint64, QVector<float>>> m_pending;  // guarded by m_mutex
    bool m_wakeQueued = false;                                    // guarded by m_mutex
    std::atomic<int> m_decodesRun{0};
    std::atomic<int> m_scoresRun{0};

    // Worker thread only.
    LikelihoodMeter m_meter;
    QStringList m_scoringPaths;
    QString m_device = QStringLiteral("auto");  // of the last load
    quint64 m_lastScoredId = 0;
    quint64 m_lastImageId = 0;  // the newest image decoded without an error
    cv::Mat m_lastImage;
    bool m_lastImageScored = true;
    bool m_bandSliceQueued = false;
    bool m_scoreQueued = false;
    QElapsedTimer m_sinceDecode;  // since the last decode finished
    QElapsedTimer m_sinceScore;   // since the last scoring pass began
};

// Owns the worker's thread: starts it, and on destruction quits and waits (never destroys a
// running thread).
class WorkerThread final {
    Q_DISABLE_COPY_MOVE(WorkerThread)

public:
    WorkerThread();
    ~WorkerThread();
    InteractiveWorker* worker() const { return m_worker; }

private:
    QThread m_thread;
    InteractiveWorker* m_worker;
};

void registerCoreMetaTypes();

}  // namespace le

Q_DECLARE_METATYPE(le::DecodeResult)
