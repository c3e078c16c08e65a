#include "core/training/training_job.h"
#include "core/data/datasets.h"

#include "core/errors.h"
#include "core/interactive/engine.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"
#include "core/training/trainer.h"

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSaveFile>

namespace le {

namespace {

QString safeName(QString text) {
    static const QRegularExpression unsafe(QStringLiteral("[^A-Za-z0-9_.-]+"));
    text = QFileInfo(text).fileName().isEmpty() ? text : QFileInfo(text).fileName();
    return text.replace(unsafe, QStringLiteral("-"));
}

}  // namespace

TrainingJob::TrainingJob(QObject* parent) : QThread(parent) {
    qRegisterMetaType<le::LossPoint>();
    qRegisterMetaType<QVector<le::LossPoint>>();
    setObjectName(QStringLiteral("training-job"));
}

TrainingJob::~TrainingJob() {
    stop();
    wait();
}

QString TrainingJob::begin(const TrainingSpec& spec, const QString& runsDir) {
    if (isRunning()) return {};
    wait();
    m_spec = spec;
    m_stop = false;
    m_paused = false;
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    QString name = QStringLiteral("%1-%2-%3").arg(stamp, spec.family, safeName(spec.dataset));
    for (int i = 2; QDir(runsDir).exists(name); ++i)
        name = QStringLiteral("%1-%2-%3-%4").arg(stamp, spec.family, safeName(spec.dataset)).arg(i);
    m_runDir = QDir(runsDir).filePath(name);
    if (!QDir().mkpath(m_runDir)) return {};
    writeRunJson(QStringLiteral("running"), {}, 0);
    start(QThread::LowPriority);
    return m_runDir;
}

void TrainingJob::setPaused(bool paused) {
    m_paused = paused;
    std::lock_guard<std::mutex> lock(m_trainerMutex);
    if (m_trainer) m_trainer->setPaused(paused);
}

void TrainingJob::stop() {
    m_stop = true;
    std::lock_guard<std::mutex> lock(m_trainerMutex);
    if (m_trainer) m_trainer->cancel();
}

void TrainingJob::writeRunJson(const QString& status, const QString& message, qint64 steps) {
    const QJsonObject json{{"spec", m_spec.toJson()},
                           {"status", status},
                           {"message", message},
                           {"steps_done", steps},
                           {"updated", QDateTime::currentDateTimeUtc().toString(Qt::ISODate)}};
    QSaveFile file(QDir(m_runDir).filePath(kRunJsonName));
    if (file.open(QIODevice::WriteOnly)) {
        file.write(QJsonDocument(json).toJson());
        file.commit();
    }
}

void TrainingJob::run() {
    const QString runDir = m_runDir;
    const QString checkpoint = QDir(runDir).filePath(kRunCheckpointName);
    QString status = QStringLiteral("failed"), message;
    qint64 steps = 0;
    try {
        const torch::Device device = deviceFromName(m_spec.device);
        const Dataset data = loadDatasetByName(m_spec.dataset, /*withTrain=*/true, 0, 2000);
        auto model = ModelRegistry::instance().create(m_spec.family.toStdString(),
                                                      m_spec.config(data.shape), device);
        TrainOptions options;
        options.steps = m_spec.steps;
        options.batchSize = m_spec.batch;
        options.learningRate = m_spec.learningRate;
        options.seed = m_spec.seed;
        options.logEvery = 1;  // every step's loss: the curves are drawn from this log
        options.evalImages = 500;
        const bool slowSampler = model->capabilities().autoregressive;
        options.snapshotEvery = std::max<qint64>(1, m_spec.steps / (slowSampler ? 4 : 20));
        options.checkpointEvery = std::max<qint64>(1, m_spec.steps / 10);
        options.checkpointPath = checkpoint;
        options.runDir = runDir;
        options.extraHeader = QJsonObject{{"run", QFileInfo(runDir).fileName()}};
        Trainer trainer(*model, data, options);

        QVector<LossPoint> pending;
        QElapsedTimer sinceReport;
        sinceReport.start();
        trainer.setProgressCallback([&](const TrainProgress& p) {
            const auto loss = p.train.find("loss");
            pending.push_back(
                {p.step, p.elapsedS, loss == p.train.end() ? std::nan("") : loss->second});
            if (sinceReport.elapsed() >= 150 || p.step == p.totalSteps) {
                emit progress(runDir, p.step, p.totalSteps, p.elapsedS, pending);
                pending.clear();
                sinceReport.restart();
            }
        });
        trainer.setSnapshotCallback(
            [&](qint64 step, const cv::Mat& grid) { emit snapshot(runDir, step, grid.clone()); });
        {
            std::lock_guard<std::mutex> lock(m_trainerMutex);
            m_trainer = &trainer;
            if (m_paused) trainer.setPaused(true);
            if (m_stop) trainer.cancel();
        }
        TrainResult result;
        try {
            result = trainer.run();
        } catch (...) {
            std::lock_guard<std::mutex> lock(m_trainerMutex);
            m_trainer = nullptr;
            throw;
        }
        {
            std::lock_guard<std::mutex> lock(m_trainerMutex);
            m_trainer = nullptr;
        }
        status = statusName(result.status);
        message = result.message;
        steps = result.steps;
    } catch (const std::exception& e) {
        message = QString::fromUtf8(e.what());
    }
    writeRunJson(status, message, steps);
    emit runFinished(
        runDir, status, message,
        QFileInfo(checkpoint).isFile() ? QFileInfo(checkpoint).absoluteFilePath() : QString());
}

}  // namespace le
