#include "core/training/training_job.h"

#include "core/storage/checkpoint.h"
#include "core/interactive/engine.h"
#include "core/errors.h"
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

const char* const kRunJson = "run.json";
const char* const kCheckpoint = "model.lec";

bool hasLatent(const QString& family) {
    return family == QLatin1String("vae") || family == QLatin1String("dcgan");
}

QJsonObject specToJson(const TrainingSpec& s) {
    return QJsonObject{{"family", s.family},
                       {"dataset", s.dataset},
                       {"latent", s.latent},
                       {"steps", s.steps},
                       {"batch", s.batch},
                       {"lr", s.learningRate},
                       {"seed", QString::number(s.seed)},
                       {"device", s.device},
                       {"options", s.options}};
}

TrainingSpec specFromJson(const QJsonObject& j) {
    TrainingSpec s;
    s.family = j.value("family").toString(s.family);
    s.dataset = j.value("dataset").toString(s.dataset);
    s.latent = j.value("latent").toInteger(s.latent);
    s.steps = j.value("steps").toInteger(s.steps);
    s.batch = j.value("batch").toInteger(s.batch);
    s.learningRate = j.value("lr").toDouble(0);
    s.seed = j.value("seed").toString(QStringLiteral("1")).toULongLong();
    s.device = j.value("device").toString(s.device);
    s.options = j.value("options").toString();
    return s;
}

QString safeName(QString text) {
    static const QRegularExpression unsafe(QStringLiteral("[^A-Za-z0-9_.-]+"));
    text = QFileInfo(text).fileName().isEmpty() ? text : QFileInfo(text).fileName();
    return text.replace(unsafe, QStringLiteral("-"));
}

}  // namespace

ModelConfig TrainingSpec::config(const ImageShape& shape) const {
    ModelConfig config;
    if (hasLatent(family)) config.set("latent", int64_t(latent));
    for (const QString& item :
         options.split(QRegularExpression(QStringLiteral("[\\s,;]+")), Qt::SkipEmptyParts)) {
        const qsizetype eq = item.indexOf('=');
        if (eq <= 0 || eq == item.size() - 1)
            throw DataError(
                QStringLiteral("model option \"%1\" is not key=value").arg(item).toStdString());
        config.set(item.left(eq).trimmed().toStdString(), item.mid(eq + 1).trimmed().toStdString());
    }
    writeImageShape(config, shape);
    return config;
}

QString TrainingSpec::title() const {
    return QStringLiteral("%1 \u00b7 %2 \u00b7 %3 steps")
        .arg(familyTitle(family),
             QFileInfo(dataset).fileName().isEmpty() ? dataset : QFileInfo(dataset).fileName())
        .arg(steps);
}

RunRecord readRun(const QString& dir) {
    RunRecord run;
    run.dir = QFileInfo(dir).absoluteFilePath();
    run.name = QFileInfo(dir).fileName();
    QFile file(QDir(dir).filePath(kRunJson));
    if (!file.open(QIODevice::ReadOnly))
        throw DataError(QStringLiteral("%1: no readable %2").arg(dir, kRunJson).toStdString());
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (!doc.isObject())
        throw DataError(
            QStringLiteral("%1/%2: %3").arg(dir, kRunJson, parseError.errorString()).toStdString());
    const QJsonObject json = doc.object();
    run.spec = specFromJson(json.value("spec").toObject());
    run.status = json.value("status").toString(QStringLiteral("interrupted"));
    run.message = json.value("message").toString();
    run.stepsDone = json.value("steps_done").toInteger();

    QFile metrics(QDir(dir).filePath(QStringLiteral("metrics.jsonl")));
    if (metrics.open(QIODevice::ReadOnly)) {
        for (const QByteArray& line : metrics.readAll().split('\n')) {
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            if (!o.contains("loss") || !o.contains("step")) continue;
            run.losses.push_back({o.value("step").toInteger(), o.value("time").toDouble(),
                                  o.value("loss").toDouble()});
        }
    }
    if (!run.losses.isEmpty()) run.stepsDone = std::max(run.stepsDone, run.losses.back().step);
    const QString checkpoint = QDir(dir).filePath(kCheckpoint);
    if (QFileInfo(checkpoint).isFile())
        run.checkpointPath = QFileInfo(checkpoint).absoluteFilePath();
    const QFileInfoList snapshots =
        QDir(QDir(dir).filePath(QStringLiteral("snapshots")))
            .entryInfoList({QStringLiteral("*.png")}, QDir::Files, QDir::Name | QDir::Reversed);
    if (!snapshots.isEmpty()) run.snapshotPath = snapshots.first().absoluteFilePath();
    return run;
}

QVector<RunRecord> listRuns(const QString& runsDir) {
    QVector<RunRecord> runs;
    const QFileInfoList dirs =
        QDir(runsDir).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const QFileInfo& info : dirs) {
        try {
            RunRecord run = readRun(info.absoluteFilePath());
            if (run.status == QLatin1String("running")) run.status = QStringLiteral("interrupted");
            runs.push_back(run);
        } catch (const std::exception&) {
            // not a run folder
        }
    }
    return runs;
}

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
    const QJsonObject json{{"spec", specToJson(m_spec)},
                           {"status", status},
                           {"message", message},
                           {"steps_done", steps},
                           {"updated", QDateTime::currentDateTimeUtc().toString(Qt::ISODate)}};
    QSaveFile file(QDir(m_runDir).filePath(kRunJson));
    if (file.open(QIODevice::WriteOnly)) {
        file.write(QJsonDocument(json).toJson());
        file.commit();
    }
}

void TrainingJob::run() {
    const QString runDir = m_runDir;
    const QString checkpoint = QDir(runDir).filePath(kCheckpoint);
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
