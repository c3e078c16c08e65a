#include "core/training/trainer.h"

#include "core/threads.h"
#include "core/training/tensor_cache.h"

#include "core/errors.h"
#include "core/imaging/image_io.h"

#include "models/gradient_sync.h"
#include "models/training_recipe.h"

#include <ATen/CPUGeneratorImpl.h>

#include <QDir>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QSaveFile>

#include <cmath>
#include <sstream>

namespace le {
namespace {

bool allFinite(const Metrics& metrics) {
    for (const auto& entry : metrics)
        if (!std::isfinite(entry.second)) return false;
    return true;
}

bool parametersFinite(GenerativeModel& model) {
    torch::NoGradGuard noGrad;
    for (const auto& p : model.module().parameters())
        if (!torch::isfinite(p).all().item<bool>()) return false;
    return true;
}

// The model's whole state: parameters, then buffers (running statistics, EMA codebooks, masks).
std::vector<torch::Tensor> modelState(GenerativeModel& model) {
    std::vector<torch::Tensor> state = model.module().parameters();
    for (const auto& b : model.module().buffers()) state.push_back(b);
    return state;
}

QString firstNonFinite(const Metrics& metrics) {
    for (const auto& entry : metrics)
        if (!std::isfinite(entry.second)) return QString::fromStdString(entry.first);
    return QStringLiteral("a parameter");
}

}  // namespace

QString statusName(TrainStatus status) {
    switch (status) {
        case TrainStatus::Finished:
            return QStringLiteral("finished");
        case TrainStatus::Cancelled:
            return QStringLiteral("cancelled");
        case TrainStatus::Diverged:
            return QStringLiteral("diverged");
    }
    return {};
}

QJsonObject metricsToJson(const Metrics& metrics) {
    QJsonObject json;
    for (const auto& [name, value] : metrics) json.insert(QString::fromStdString(name), value);
    return json;
}

Metrics evaluateModel(GenerativeModel& model, const ImageSet& set, qint64 maxImages,
                      qint64 batchSize) {
    const qint64 n = maxImages > 0 ? std::min<qint64>(set.size(), maxImages) : set.size();
    if (n == 0) throw DataError("evaluation needs at least one held-out image");
    torch::NoGradGuard noGrad;
    const bool wasTraining = model.module().is_training();
    model.train(false);
    Metrics sum;
    for (qint64 i = 0; i < n; i += batchSize) {
        const qint64 end = std::min(n, i + batchSize);
        const Metrics m = model.evaluate(set.images.slice(0, i, end).to(model.device()));
        for (const auto& [name, value] : m) sum[name] += value * double(end - i);
    }
    for (auto& entry : sum) entry.second /= double(n);
    model.train(wasTraining);
    return sum;
}

Trainer::Trainer(GenerativeModel& model, const Dataset& data, TrainOptions options)
    : m_model(model),
      m_data(data),
      m_options(std::move(options)),
      m_generator(at::detail::createCPUGenerator(m_options.seed)) {
    m_model.checkImageBatch(m_data.train.images.slice(0, 0, 1), "training data");
    if (m_data.train.size() == 0) throw DataError("the training split is empty");
    if (m_options.steps <= 0) throw DataError("training needs at least one step");
    if (m_options.batchSize <= 0) throw DataError("the batch size must be positive");
    if (m_data.train.size() < workerCount())
        throw DataError(QStringLiteral("%1 training images cannot be shared by %2 workers")
                            .arg(m_data.train.size())
                            .arg(workerCount())
                            .toStdString());
}

bool Trainer::leads() const {
    return !m_options.sync || m_options.sync->rank() == 0;
}

int Trainer::workerCount() const {
    return m_options.sync ? m_options.sync->worldSize() : 1;
}

void Trainer::setProgressCallback(std::function<void(const TrainProgress&)> callback) {
    m_progress = std::move(callback);
}

void Trainer::setSnapshotCallback(std::function<void(qint64, const cv::Mat&)> callback) {
    m_snapshot = std::move(callback);
}

void Trainer::cancel() {
    m_cancel = true;
    setPaused(false);
}

void Trainer::setPaused(bool paused) {
    {
        std::lock_guard<std::mutex> lock(m_pauseMutex);
        m_paused = paused;
    }
    m_pauseChanged.notify_all();
}

torch::Tensor Trainer::nextBatch() {
    // Every worker shuffles alike (one seed) and takes its equal share of the global batch, so
    // the mean of their mean losses is the global batch's.
    const qint64 n = m_data.train.size();
    const qint64 share = std::min(m_options.batchSize, n / workerCount());
    const qint64 global = share * workerCount();
    if (!m_order.defined() || m_cursor + global > n) {
        m_order = torch::randperm(n, m_generator, torch::kLong);
        m_cursor = 0;
    }
    const qint64 first = m_cursor + (m_options.sync ? m_options.sync->rank() : 0) * share;
    const torch::Tensor rows = m_order.slice(0, first, first + share);
    m_cursor += global;
    return m_data.train.images.index_select(0, rows).to(m_model.device());
}

void Trainer::adoptRankZeroState() {
    GradientSync& sync = *m_options.sync;
    // The weight average's shadow too, through swap (it holds the shadow while swapped).
    WeightAverage* average = m_model.weightAverage();
    if (average && average->started() && !average->swapped()) {
        average->swap();
        sync.broadcast(m_model.module().parameters());
        average->swap();
    }
    sync.broadcast(modelState(m_model));
}

Metrics Trainer::syncStep(const Metrics& metrics, qint64 step) {
    // One collective: the losses (a std::map, so every worker lists them in one order) and the
    // buffers.
    std::vector<double> values;
    for (const auto& entry : metrics) values.push_back(entry.second);
    std::vector<torch::Tensor> tensors{torch::tensor(values, torch::kDouble)};
    for (const auto& b : m_model.module().buffers()) tensors.push_back(b);
    m_options.sync->average(tensors);
    if (step == 1) adoptRankZeroState();

    Metrics mean = metrics;
    const auto averaged = tensors.front().accessor<double, 1>();
    int64_t i = 0;
    for (auto& entry : mean) entry.second = averaged[i++];
    return mean;
}

double Trainer::replicaDifference() {
    torch::NoGradGuard noGrad;
    GradientSync& sync = *m_options.sync;
    std::vector<torch::Tensor> pieces;
    for (const auto& t : modelState(m_model))
        pieces.push_back(t.detach().reshape(-1).to(torch::kDouble));
    const torch::Tensor mine = torch::cat(pieces);
    torch::Tensor leader = mine.clone();
    sync.broadcastFromRankZero(leader);
    torch::Tensor differences = torch::zeros({sync.worldSize()}, torch::kDouble);
    differences[sync.rank()] = (mine - leader).abs().max().to(torch::kCPU);
    sync.allReduceSum(differences);
    return differences.max().item<double>();
}

void Trainer::log(const QJsonObject& line) {
    if (m_options.runDir.isEmpty() || !leads()) return;
    m_logLines += QJsonDocument(line).toJson(QJsonDocument::Compact) + '\n';
}

void Trainer::flushLog() {
    if (m_options.runDir.isEmpty() || !leads()) return;
    // Rewritten whole and renamed into place, so a crash never leaves a torn last line.
    QSaveFile file(QDir(m_options.runDir).filePath(QStringLiteral("metrics.jsonl")));
    if (!file.open(QIODevice::WriteOnly) || file.write(m_logLines) != m_logLines.size() ||
        !file.commit())
        throw DataError(QStringLiteral("%1: cannot write the metrics log: %2")
                            .arg(file.fileName(), file.errorString())
                            .toStdString());
}

void Trainer::snapshot(qint64 step) {
    torch::NoGradGuard noGrad;
    const AveragedWeightsScope averaged(m_model);
    m_model.train(false);
    const torch::Tensor samples =
        m_model.sample(16, m_model.defaultTemperature(), m_options.seed).to(torch::kCPU);
    m_model.train(true);
    const cv::Mat grid = tileImages(samples, 4);
    if (!m_options.runDir.isEmpty()) {
        QDir dir(m_options.runDir);
        dir.mkpath(QStringLiteral("snapshots"));
        writeImage(
            dir.filePath(QStringLiteral("snapshots/step_%1.png").arg(step, 7, 10, QChar('0'))),
            grid);
    }
    if (m_snapshot) m_snapshot(step, grid);
}

void Trainer::saveAt(qint64 step, const Metrics& heldOut) {
    if (m_options.checkpointPath.isEmpty() || !leads()) return;
    CheckpointHeader header;
    header.dataset = m_data.name;
    header.steps = m_options.firstStep + step;
    header.metrics = metricsToJson(heldOut);
    header.extra = m_options.extraHeader;
    header.extra.insert(QStringLiteral("seed"), QString::number(m_options.seed));
    header.extra.insert(QStringLiteral("batch_size"), m_options.batchSize);
    if (workerCount() > 1) header.extra.insert(QStringLiteral("workers"), workerCount());
    saveCheckpoint(m_options.checkpointPath, m_model, header);
}

TrainResult Trainer::run() {
    if (leads() && !m_options.runDir.isEmpty() && !QDir().mkpath(m_options.runDir))
        throw DataError(
            QStringLiteral("%1: cannot create the run folder").arg(m_options.runDir).toStdString());
    if (m_options.learningRate > 0) m_model.setLearningRate(m_options.learningRate);

    const ScopedTorchThreads threads(m_model.trainingThreads());
    const ScopedTensorCache tensorCache;
    const ScopedGradientSync gradientSync(m_options.sync.get());
    if (m_options.sync) adoptRankZeroState();
    TrainResult result;
    QElapsedTimer timer;
    timer.start();
    std::string lastGood;  // weights after the last finite step, restored on divergence
    auto keepGood = [&] {
        std::ostringstream out;
        m_model.saveWeights(out);
        lastGood = out.str();
    };
    keepGood();
    qint64 lastGoodStep = 0;
    const qint64 keepEvery = std::max<qint64>(1, std::min<qint64>(50, m_options.steps / 20));

    m_model.train(true);
    for (qint64 step = 1; step <= m_options.steps; ++step) {
        {
            std::unique_lock<std::mutex> lock(m_pauseMutex);
            m_pauseChanged.wait(lock, [this] { return !m_paused || m_cancel; });
        }
        if (m_cancel) {
            result.status = TrainStatus::Cancelled;
            result.message = QStringLiteral("cancelled after %1 steps").arg(step - 1);
            break;
        }
        Metrics metrics = m_model.trainStep(nextBatch());
        if (m_options.sync) metrics = syncStep(metrics, step);
        if (!allFinite(metrics) || (step % keepEvery == 0 && !parametersFinite(m_model))) {
            std::istringstream in(lastGood);
            m_model.loadWeights(in);
            result.status = TrainStatus::Diverged;
            result.message = QStringLiteral(
                                 "training diverged at step %1 (%2 is not finite); kept "
                                 "the weights of step %3")
                                 .arg(step)
                                 .arg(firstNonFinite(metrics))
                                 .arg(lastGoodStep);
            log(QJsonObject{{"step", m_options.firstStep + step}, {"event", "diverged"}});
            break;
        }
        result.steps = step;
        if (step % keepEvery == 0) {
            keepGood();
            lastGoodStep = step;
        }

        TrainProgress progress;
        progress.step = step;
        progress.totalSteps = m_options.steps;
        progress.train = metrics;
        progress.elapsedS = timer.nsecsElapsed() / 1e9;
        progress.imagesPerSecond =
            step * m_options.batchSize * workerCount() / std::max(1e-9, progress.elapsedS);
        const bool evalNow = leads() && m_options.evalEvery > 0 && step % m_options.evalEvery == 0;
        if (evalNow) {
            const AveragedWeightsScope averaged(m_model);
            progress.heldOut = evaluateModel(m_model, m_data.test, m_options.evalImages);
            m_model.train(true);
        }
        if (step % m_options.logEvery == 0 || step == 1 || evalNow) {
            QJsonObject line = metricsToJson(metrics);
            line.insert("step", m_options.firstStep + step);
            line.insert("time", progress.elapsedS);
            if (evalNow) line.insert("test", metricsToJson(progress.heldOut));
            log(line);
        }
        if (leads() && m_options.snapshotEvery > 0 && step % m_options.snapshotEvery == 0)
            snapshot(step);
        if (leads() && m_options.checkpointEvery > 0 && step % m_options.checkpointEvery == 0 &&
            step < m_options.steps) {
            const AveragedWeightsScope averaged(m_model);
            saveAt(step, evalNow ? progress.heldOut : Metrics{});
            flushLog();
        }
        if (m_progress) m_progress(progress);
    }

    if (result.status == TrainStatus::Diverged) {
        result.steps = lastGoodStep;
    }
    // From here on the model is what its checkpoint keeps: the weight average, where there is one.
    if (WeightAverage* average = m_model.weightAverage()) average->adopt();
    if (m_options.sync) result.replicaDifference = replicaDifference();
    m_model.train(false);
    if (leads() && m_data.test.size() > 0)
        result.heldOut = evaluateModel(m_model, m_data.test, m_options.evalImages);
    result.wallS = timer.nsecsElapsed() / 1e9;
    if (result.message.isEmpty())
        result.message = QStringLiteral("finished %1 steps").arg(result.steps);
    if (result.steps > 0) saveAt(result.steps, result.heldOut);
    QJsonObject end{{"event", statusName(result.status)},
                    {"step", m_options.firstStep + result.steps},
                    {"time", result.wallS},
                    {"test", metricsToJson(result.heldOut)}};
    log(end);
    flushLog();
    return result;
}

}  // namespace le
