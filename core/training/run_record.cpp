#include "core/training/run_record.h"

#include "core/errors.h"
#include "core/storage/model_catalog.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

namespace le {

QJsonObject TrainingSpec::toJson() const {
    const TrainingSpec& s = *this;
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

TrainingSpec TrainingSpec::fromJson(const QJsonObject& j) {
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

ModelConfig TrainingSpec::config(const ImageShape& shape) const {
    ModelConfig config;
    if (familyTakesLatentSize(family)) config.set("latent", int64_t(latent));
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
    QFile file(QDir(dir).filePath(kRunJsonName));
    if (!file.open(QIODevice::ReadOnly))
        throw DataError(QStringLiteral("%1: no readable %2").arg(dir, kRunJsonName).toStdString());
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &parseError);
    if (!doc.isObject())
        throw DataError(QStringLiteral("%1/%2: %3")
                            .arg(dir, kRunJsonName, parseError.errorString())
                            .toStdString());
    const QJsonObject json = doc.object();
    run.spec = TrainingSpec::fromJson(json.value("spec").toObject());
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
    const QString checkpoint = QDir(dir).filePath(kRunCheckpointName);
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

}  // namespace le
