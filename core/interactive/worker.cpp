#include "core/interactive/worker.h"
#include "core/data/datasets.h"

#include "core/storage/checkpoint.h"
#include "core/errors.h"
#include "core/threads.h"

#include <QFileInfo>
#include <QMetaObject>
#include <QTimer>

namespace le {

void registerCoreMetaTypes() {
    qRegisterMetaType<le::ModelInfo>();
    qRegisterMetaType<le::LatentMap>();
    qRegisterMetaType<le::DecodeResult>();
    qRegisterMetaType<le::ScoreResult>();
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

void InteractiveWorker::setScoringCheckpoints(const QStringList& paths) {
    QMetaObject::invokeMethod(
        this,
        [this, paths] {
            if (paths == m_scoringPaths) return;
            m_scoringPaths = paths;
            prepareScorers();
            queueBandSlice();
        },
        Qt::QueuedConnection);
}

bool InteractiveWorker::decodeWaiting() {
    QMutexLocker lock(&m_mutex);
    return m_pending.has_value();
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
    emit decoded(result);  // the image first: the scores may trail, never delay it
    m_sinceDecode.start();

    if (!result.error.isEmpty()) return;
    m_lastImageId = result.id;
    m_lastImage = result.image;
    m_lastImageScored = false;
    scoreLatest();
}

void InteractiveWorker::scoreLatest() {
    // A newer request already waits: its image is the one worth scoring.
    if (m_lastImageScored || decodeWaiting()) return;
    if (m_sinceScore.isValid() && m_sinceScore.elapsed() < kScoreIntervalMs) {
        // Scored a moment ago: a fast drag. Score whatever is newest when the interval ends.
        if (!m_scoreQueued) {
            m_scoreQueued = true;
            QTimer::singleShot(int(kScoreIntervalMs - m_sinceScore.elapsed()) + 1, this, [this] {
                m_scoreQueued = false;
                scoreLatest();
            });
        }
        return;
    }
    m_sinceScore.start();
    const ScoreResult scores =
        m_meter.score(m_lastImageId, m_lastImage, [this] { return decodeWaiting(); });
    m_lastScoredId = m_lastImageId;
    m_lastImageScored = true;
    ++m_scoresRun;
    emit scored(scores);
    m_sinceDecode.start();
}

void InteractiveWorker::load(const QString& checkpointPath, const QString& device) {
    try {
        const ModelInfo info = m_engine.load(checkpointPath, device);
        const Dataset data =
            loadDatasetByName(info.dataset, /*withTrain=*/false, 0, 4000, info.shape);
        const LatentMap map = m_engine.buildLatentMap(data);
        m_device = device;
        m_lastScoredId = 0;
        m_lastImageId = 0;
        m_lastImage = cv::Mat();
        m_lastImageScored = true;
        m_meter.setReferenceImages(data.test.images);
        prepareScorers();
        emit modelLoaded(info, map);
        queueBandSlice();
    } catch (const std::exception& e) {
        emit failed(QString::fromUtf8(e.what()));
    }
}

void InteractiveWorker::prepareScorers() {
    m_meter.clear();
    if (!m_engine.hasModel() || m_scoringPaths.isEmpty()) return;
    const ModelInfo current = m_engine.currentInfo();
    const QString currentPath = QFileInfo(current.checkpointPath).absoluteFilePath();
    // The map's own model scores too when it has a likelihood (the VAE's ELBO).
    const QStringList candidates = m_scoringPaths + QStringList{currentPath};
    for (const CatalogEntry& entry :
         LikelihoodMeter::selectScorers(candidates, current.dataset, current.shape)) {
        try {
            ModelInfo info;
            std::shared_ptr<GenerativeModel> model = m_engine.model(entry.path, m_device, &info);
            const CheckpointHeader header = readCheckpointHeader(entry.path);
            const double checkpointBpd =
                header.metrics.contains(QStringLiteral("bpd"))
                    ? header.metrics.value(QStringLiteral("bpd")).toDouble(LikelihoodScore::kNaN)
                    : LikelihoodScore::kNaN;
            m_meter.addScorer(entry, std::move(model), entry.path + '|' + info.device,
                              checkpointBpd, entry.path == currentPath);
        } catch (const std::exception& e) {
            m_meter.addFailedScorer(entry, QString::fromUtf8(e.what()));
        }
    }
}

void InteractiveWorker::queueBandSlice() {
    if (m_bandSliceQueued || m_meter.bandsComplete()) return;
    m_bandSliceQueued = true;
    QMetaObject::invokeMethod(this, &InteractiveWorker::measureBands, Qt::QueuedConnection);
}

void InteractiveWorker::measureBands() {
    m_bandSliceQueued = false;
    if (m_sinceDecode.isValid() && m_sinceDecode.elapsed() < kBandQuietMs) {
        // Dragging: look again once it pauses.
        m_bandSliceQueued = true;
        QTimer::singleShot(kBandQuietMs, this, &InteractiveWorker::measureBands);
        return;
    }
    // Yields as soon as a decode waits; that decode's queued call runs before the next slice.
    const int completed = m_meter.refineBands(kBandSliceMs, [this] { return decodeWaiting(); });
    if (completed > 0 && m_lastScoredId > 0) emit scored(m_meter.snapshot(m_lastScoredId));
    queueBandSlice();
}

WorkerThread::WorkerThread() : m_worker(new InteractiveWorker) {
    m_thread.setObjectName(QStringLiteral("interactive-worker"));
    m_worker->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    QObject::connect(&m_thread, &QThread::started, m_worker, &useOneTorchThreadHere,
                     Qt::DirectConnection);
    m_thread.start();
}

WorkerThread::~WorkerThread() {
    m_thread.quit();
    m_thread.wait();
}

}  // namespace le
