#include "bench.h"
#include "core/data/datasets.h"

#include "core/storage/checkpoint.h"
#include "core/interactive/engine.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QProcess>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

namespace le::bench {

namespace {

// The families in the order the report lists them.
const QStringList kFamilies{"vae", "dcgan", "glow", "pixelcnn", "vqvae"};

BenchModel describe(const QString& path, bool shipped) {
    const CheckpointHeader header = readCheckpointHeader(path);
    BenchModel m;
    m.family = header.family;
    m.checkpoint = path;
    m.dataset = header.dataset;
    m.shipped = shipped;
    ModelConfig config = header.config;
    const auto model = ModelRegistry::instance().create(header.family.toStdString(), config);
    m.canDecode = model->capabilities().decode && model->latentDim() > 0;
    m.autoregressive = model->capabilities().autoregressive;
    return m;
}

// Fashion-MNIST's shape, which every family takes with its defaults.
BenchModel defaultModel(const QString& family, const QString& dir) {
    ModelConfig config;
    writeImageShape(config, ImageShape{1, 28, 28});
    const auto model = ModelRegistry::instance().create(family.toStdString(), config);
    CheckpointHeader header;
    header.dataset = QStringLiteral("fashion-mnist");
    const QString path = QDir(dir).filePath(family + QStringLiteral("_default.lec"));
    saveCheckpoint(path, *model, header);
    return describe(path, false);
}

}  // namespace

void logLine(const QString& text) {
    std::cerr << "[bench] " << text.toStdString() << std::endl;
}

QString BenchModel::label() const {
    if (shipped) return QFileInfo(checkpoint).completeBaseName();
    return family + QStringLiteral(" (default config, untrained)");
}

const Dataset& Context::trainingData() {
    if (!m_training) {
        logLine(QStringLiteral("loading the Fashion-MNIST training split"));
        m_training = std::make_shared<Dataset>(
            loadDatasetByName(QStringLiteral("fashion-mnist"), true, trainingImages(), 1000));
    }
    return *m_training;
}

std::vector<BenchModel> Context::modelsOf(const QString& family) const {
    std::vector<BenchModel> out;
    for (const auto& m : models)
        if (m.family == family) out.push_back(m);
    return out;
}

BenchModel Context::samplingPixelCnn() const {
    const std::vector<BenchModel> all = modelsOf(QStringLiteral("pixelcnn"));
    if (all.empty()) throw std::runtime_error("no PixelCNN checkpoint to sample");
    for (const BenchModel& m : all)
        if (m.dataset == QLatin1String("fashion-mnist")) return m;
    return all.front();
}

QProcessEnvironment Context::childEnvironment() const {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    // OMP_WAIT_POLICY is inherited as it is: unset, both sides run libgomp's default wait (spin
    // briefly, then sleep), as the app does.
    env.insert(QStringLiteral("OPENBLAS_NUM_THREADS"), QString::number(threads.blasThreads));
    env.insert(QStringLiteral("LE_TORCH_THREADS"), QString::number(threads.torchThreads));
    env.insert(QStringLiteral("LE_BLAS_THREADS"), QString::number(threads.blasThreads));
    return env;
}

void collectModels(Context& context) {
    context.models.clear();
    const QFileInfoList files =
        QDir(context.pretrainedDir)
            .entryInfoList({QStringLiteral("*.lec")}, QDir::Files, QDir::Name);
    for (const QString& family : kFamilies) {
        bool shipped = false;
        for (const QFileInfo& file : files) {
            if (!file.fileName().startsWith(family + '_')) continue;
            try {
                context.models.push_back(describe(file.absoluteFilePath(), true));
                shipped = true;
            } catch (const std::exception& e) {
                logLine(QStringLiteral("skipping %1: %2").arg(file.fileName(), e.what()));
            }
        }
        if (!shipped) context.models.push_back(defaultModel(family, context.tempDir));
    }
}

Summary summarize(std::vector<double> values) {
    Summary s;
    s.count = int(values.size());
    if (values.empty()) return s;
    std::sort(values.begin(), values.end());
    auto rank = [&](double p) {
        const size_t i = size_t(std::ceil(p * double(values.size())));
        return values[std::clamp<size_t>(i, 1, values.size()) - 1];
    };
    s.p50 = rank(0.50);
    s.p99 = rank(0.99);
    s.mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
    s.max = values.back();
    return s;
}

QJsonObject toJson(const Summary& s) {
    return QJsonObject{
        {"count", s.count}, {"p50", s.p50}, {"p99", s.p99}, {"mean", s.mean}, {"max", s.max}};
}

std::optional<QByteArray> runProcess(const QString& program, const QStringList& arguments,
                                     const QProcessEnvironment& environment, int timeoutS) {
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::SeparateChannels);
    process.setReadChannel(QProcess::StandardOutput);
    process.start(program, arguments);
    if (!process.waitForStarted(30000)) {
        logLine(QStringLiteral("cannot start %1: %2").arg(program, process.errorString()));
        return std::nullopt;
    }
    if (!process.waitForFinished(timeoutS * 1000)) {
        process.kill();
        process.waitForFinished(5000);
        logLine(QStringLiteral("%1 did not finish in %2 s").arg(program).arg(timeoutS));
        return std::nullopt;
    }
    const QByteArray err = process.readAllStandardError();
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        logLine(QStringLiteral("%1 failed (exit %2): %3")
                    .arg(program)
                    .arg(process.exitCode())
                    .arg(QString::fromUtf8(err.right(2000))));
        return std::nullopt;
    }
    return process.readAllStandardOutput();
}

QJsonObject lastJsonLine(const QByteArray& output) {
    const QList<QByteArray> lines = output.split('\n');
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        const QJsonDocument doc = QJsonDocument::fromJson(it->trimmed());
        if (doc.isObject()) return doc.object();
    }
    return {};
}

double peakRssMib() {
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly)) return 0;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:")) return line.mid(6).trimmed().split(' ')[0].toDouble() / 1024;
    return 0;
}

}  // namespace le::bench
