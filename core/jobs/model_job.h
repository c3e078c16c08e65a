#pragma once

// The lifecycle every model job shares, after Qt's Mandelbrot render thread: one request slot
// that a new request overwrites (the caller never waits), a flag the work checks between steps, a
// wait condition while idle, and abort-wake-wait on destruction. Every request gets a generation;
// results carry it, so a view drops what a newer request made stale. One progress and one
// finished signal for every job; errors travel as data (an exception from process() becomes
// finished's error, a per-model failure the result's own error).

#include "core/storage/model_cache.h"

#include <QMutex>
#include <QString>
#include <QThread>
#include <QWaitCondition>

#include <atomic>
#include <exception>
#include <functional>

namespace le {

class ModelJob : public QThread {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ModelJob)

public:
    ~ModelJob() override;  // stop()

    // Thread-safe. Stops the running request at its next check (finished with cancelled true);
    // a request not yet started ends at once.
    void cancel();

signals:
    void progress(quint64 generation, qint64 done, qint64 total, const QString& what);
    void finished(quint64 generation, bool cancelled, const QString& error);

protected:
    ModelJob(const QString& name, QObject* parent);
    // Abort, wake, wait: every subclass's destructor calls it first, so that the thread never
    // runs process() on a half-destroyed object. Idempotent.
    void stop();

    // Thread-safe, never blocks: `store` writes the subclass's pending request under the job's
    // lock; the running request (if any) stops at its next check. Returns the new generation.
    quint64 submit(const std::function<void()>& store);
    // In the job thread, under the lock: take the pending request as the one to process.
    virtual void takeRequest() = 0;
    // In the job thread: the request taken, under `generation`. May throw (finished's error).
    virtual void process(quint64 generation) = 0;

    // A newer request, a cancel or shutdown: the work should stop at this check.
    bool superseded() const { return m_restart.load() || m_quit.load(); }
    void report(quint64 generation, qint64 done, qint64 total, const QString& what = QString()) {
        emit progress(generation, done, total, what);
    }
    ModelCache& models() { return m_models; }  // the job thread's own

    void run() override;

private:
    QMutex m_mutex;
    QWaitCondition m_wake;
    bool m_pending = false;    // guarded by m_mutex
    quint64 m_generation = 0;  // guarded by m_mutex
    std::atomic<bool> m_restart{false};
    std::atomic<bool> m_quit{false};
    ModelCache m_models;  // the job thread only
};

// A job whose request is a value of type Request, copied in on submit.
template <class Request>
class RequestJob : public ModelJob {
protected:
    using ModelJob::ModelJob;
    quint64 submitRequest(const Request& request) {
        return submit([&] { m_pending = request; });
    }
    const Request& request() const { return m_current; }  // the job thread only

private:
    void takeRequest() final { m_current = m_pending; }
    Request m_pending;  // guarded by the job's lock
    Request m_current;  // the job thread only
};

// Runs fn(out) and returns out; an exception becomes out.error, so one model's failure is shown
// in its row while the others go on.
template <class Out, class F>
Out capturingErrors(Out out, F&& fn) {
    try {
        fn(out);
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

}  // namespace le
