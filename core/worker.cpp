#include "worker.h"

#include "errors.h"

#include <QMetaObject>

namespace le {

void registerCoreMetaTypes() {
    qRegisterMetaType<le::ModelInfo>();
    qRegisterMetaType<le::LatentMap>();
    qRegisterMetaType<le::DecodeResult>();
}

InteractiveWorker::InteractiveWorker() {
    registerCoreMetaTypes();
}
InteractiveWorker::~InteractiveWorker() = default;

void InteractiveWorker::requestDecode(quint64 id, const QVector<float>& latent) {
    QMutexLocker lock(&m_mutex);
    m_pending = std::make_pair(id, latent);  // a newer drag replaces the waiting one
    if (m_wakeQueued) return;
    m_wakeQueued = true;
    QMetaObject::invokeMethod(this, &InteractiveWorker::processPendingDecode, Qt::QueuedConnection);
}

void InteractiveWorker::requestLoad(const QString& checkpointPath, const QString& device) {
    QMetaObject::invokeMethod(
        this, [this, checkpointPath, device] { load(checkpointPath, device); },
        Qt::QueuedConnection);
}

void InteractiveWorker::processPendingDecode() {
    std::pair<quint64, QVector<float>> request;
    {
        QMutexLocker lock(&m_mutex);
        m_wakeQueued = false;
        if (!m_pending) return;
        request = std::move(*m_pending);
        m_pending.reset();
    }
    DecodeResult result;
    result.id = request.first;
    QElapsedTimer timer;
    timer.start();
    try {
        result.image = m_engine.decode(request.second);
    } catch (const std::exception& e) {
        result.error = QString::fromUtf8(e.what());
    }
    result.decodeMs = timer.nsecsElapsed() / 1e6;
    ++m_decodesRun;
    emit decoded(result);
}

void InteractiveWorker::load(const QString& checkpointPath, const QString& device) {
    try {
        const ModelInfo info = m_engine.load(checkpointPath, device);
        const Dataset data =
            loadDatasetByName(info.dataset, /*withTrain=*/false, 0, 4000, info.shape);
        emit modelLoaded(info, m_engine.buildLatentMap(data));
    } catch (const std::exception& e) {
        emit failed(QString::fromUtf8(e.what()));
    }
}

WorkerThread::WorkerThread() : m_worker(new InteractiveWorker) {
    m_thread.setObjectName(QStringLiteral("interactive-worker"));
    m_worker->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

WorkerThread::~WorkerThread() {
    m_thread.quit();
    m_thread.wait();
}

}  // namespace le
