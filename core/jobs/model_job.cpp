#include "core/jobs/model_job.h"

#include <QMutexLocker>

namespace le {

ModelJob::ModelJob(const QString& name, QObject* parent) : QThread(parent) {
    setObjectName(name);
}

ModelJob::~ModelJob() {
    stop();
}

void ModelJob::stop() {
    {
        QMutexLocker lock(&m_mutex);
        m_quit = true;
        m_restart = true;
        m_wake.wakeOne();
    }
    wait();
}

quint64 ModelJob::submit(const std::function<void()>& store) {
    QMutexLocker lock(&m_mutex);
    store();
    m_pending = true;
    m_restart = true;  // the running request (if any) stops at its next check
    const quint64 generation = ++m_generation;
    if (!isRunning())
        start(QThread::LowPriority);
    else
        m_wake.wakeOne();
    return generation;
}

void ModelJob::cancel() {
    quint64 unstarted = 0;
    {
        QMutexLocker lock(&m_mutex);
        m_restart = true;
        if (m_pending) {  // never picked up: nobody else will say it ended
            m_pending = false;
            unstarted = m_generation;
        }
    }
    if (unstarted) emit finished(unstarted, true, QString());
}

void ModelJob::run() {
    for (;;) {
        quint64 generation = 0;
        {
            QMutexLocker lock(&m_mutex);
            while (!m_pending && !m_quit) m_wake.wait(&m_mutex);
            if (m_quit) break;
            takeRequest();
            generation = m_generation;
            m_pending = false;
            m_restart = false;
        }
        QString error;
        try {
            process(generation);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        emit finished(generation, superseded(), error);
    }
    m_models.clear();  // the modules die in the thread that used them
}

}  // namespace le
