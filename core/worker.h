#pragma once

// The interactive worker: a QObject living in its own QThread, owning the ModelEngine.
// Requests arrive from any thread; drags coalesce (latest wins) and every result carries the id
// of the request it answers, so the GUI can drop stale ones. Errors come back as data.

#include "engine.h"

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

    int decodesRun() const { return m_decodesRun.load(); }

signals:
    void modelLoaded(const le::ModelInfo& info, const le::LatentMap& map);
    void decoded(const le::DecodeResult& result);
    void failed(const QString& message);

private:
    void processPendingDecode();
    void load(const QString& checkpointPath, const QString& device);

    ModelEngine m_engine;
    QMutex m_mutex;
    std::optional<std::pair<quint64, QVector<float>>> m_pending;  // guarded by m_mutex
    bool m_wakeQueued = false;                                    // guarded by m_mutex
    std::atomic<int> m_decodesRun{0};
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
