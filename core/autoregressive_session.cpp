#include "autoregressive_session.h"

#include "checkpoint.h"
#include "errors.h"
#include "image_io.h"
#include "view_data.h"
#include "vqvae.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>

namespace le {

namespace {

constexpr qint64 kToRowEnd = -1;       // m_stepsLeft: resolve to the end of the current row
constexpr qint64 kReportEveryMs = 40;  // fast runs report at most this often (25 frames/s)

// The mask (CV_8UC1, nonzero kept) as a float image in {-1, 1}, so that fitToShape pads and
// resizes it exactly as the anchor image (padding is -1: not kept).
torch::Tensor maskTensor(const cv::Mat& mask, const ImageShape& shape) {
    const cv::Mat binary = mask > 0;  // CV_8U, 0 or 255
    return fitToShape(matToTensor(binary), ImageShape{1, shape.height, shape.width});
}

}  // namespace

void registerAutoregressiveMetaTypes() {
    qRegisterMetaType<le::AutoregressiveStep>();
}

struct AutoregressiveSession::Sampling {
    QString modelKey;  // path|device of the loaded model, kept across restarts
    std::shared_ptr<GenerativeModel> model;
    std::vector<std::unique_ptr<AutoregressiveSampler>> samplers;
    quint64 generation = 0;
    int gridWidth = 0, gridHeight = 0, cellSize = 1, channels = 1;
};

AutoregressiveSession::AutoregressiveSession(QObject* parent) : QThread(parent) {
    registerAutoregressiveMetaTypes();
    setObjectName(QStringLiteral("autoregressive-session"));
}

AutoregressiveSession::~AutoregressiveSession() {
    {
        QMutexLocker lock(&m_mutex);
        m_abort = true;
        m_wake.wakeOne();
    }
    wait();
}

quint64 AutoregressiveSession::restart(const AutoregressiveSetup& setup) {
    QMutexLocker lock(&m_mutex);
    const quint64 generation = ++m_generation;
    m_pendingSetup = std::make_pair(setup, generation);
    m_mode = Mode::Paused;
    if (!QThread::isRunning()) start(QThread::LowPriority);
    m_wake.wakeOne();
    return generation;
}

void AutoregressiveSession::command(Mode mode, qint64 steps) {
    QMutexLocker lock(&m_mutex);
    m_mode = mode;
    m_stepsLeft = steps;
    m_wake.wakeOne();
}

void AutoregressiveSession::play() {
    command(Mode::Playing, 0);
}
void AutoregressiveSession::pause() {
    command(Mode::Paused, 0);
}
void AutoregressiveSession::stepOnce() {
    command(Mode::Steps, 1);
}
void AutoregressiveSession::stepRow() {
    command(Mode::Steps, kToRowEnd);
}
void AutoregressiveSession::runToEnd() {
    command(Mode::ToEnd, 0);
}

void AutoregressiveSession::setStepsPerSecond(double stepsPerSecond) {
    QMutexLocker lock(&m_mutex);
    m_stepsPerSecond = std::clamp(stepsPerSecond, 0.5, 1e6);
    m_wake.wakeOne();
}

bool AutoregressiveSession::isBusy() const {
    QMutexLocker lock(&m_mutex);
    return m_mode != Mode::Paused;
}

void AutoregressiveSession::run() {
    torch::NoGradGuard noGrad;  // thread-local: made in the thread that runs the model
    QElapsedTimer sinceReport;
    sinceReport.start();
    for (;;) {
        QMutexLocker lock(&m_mutex);
        auto canStep = [this] {
            return m_sampling && !m_sampling->samplers.empty() &&
                   !m_sampling->samplers.front()->done() && m_sampling->generation == m_generation;
        };
        while (!m_abort && !m_pendingSetup && (m_mode == Mode::Paused || !canStep())) {
            if (m_mode != Mode::Paused) {  // nothing left to step: the command is over
                m_mode = Mode::Paused;
                emit stopped();
                continue;
            }
            m_wake.wait(&m_mutex);
        }
        if (m_abort) return;
        if (m_pendingSetup) {
            auto [setup, generation] = std::move(*m_pendingSetup);
            m_pendingSetup.reset();
            lock.unlock();
            startSampling(setup, generation);
            continue;
        }

        AutoregressiveSampler& first = *m_sampling->samplers.front();
        const qint64 rowLength = qint64(m_sampling->gridWidth) * m_sampling->channels;
        if (m_mode == Mode::Steps && m_stepsLeft == kToRowEnd)
            m_stepsLeft = rowLength - first.stepsDone() % rowLength;
        const bool lastOfCommand = (m_mode == Mode::Steps && m_stepsLeft == 1) ||
                                   first.stepsDone() + 1 >= first.totalSteps();
        const bool fast =
            m_mode == Mode::ToEnd || (m_mode == Mode::Playing && m_stepsPerSecond > 25);
        const bool report = !fast || lastOfCommand || sinceReport.elapsed() >= kReportEveryMs;
        const quint64 generation = m_sampling->generation;
        lock.unlock();

        AutoregressiveStep step;
        try {
            step = stepAll(report);
        } catch (const std::exception& e) {
            emit failed(generation, QString::fromUtf8(e.what()));
            lock.relock();
            m_sampling.reset();
            m_mode = Mode::Paused;
            continue;
        }
        if (report) {
            sinceReport.restart();
            emit stepped(step);
        }

        lock.relock();
        if (m_generation != generation) continue;  // restarted meanwhile
        if (m_mode == Mode::Steps && --m_stepsLeft <= 0) {
            m_mode = Mode::Paused;
            emit stopped();
        } else if (step.done && m_mode != Mode::Paused) {
            m_mode = Mode::Paused;
            emit stopped();
        } else if (m_mode == Mode::Playing) {
            // Interruptible by any command: pause, a new speed, a restart, abort.
            m_wake.wait(&m_mutex, (unsigned long)std::max(1.0, 1000.0 / m_stepsPerSecond));
        }
    }
}

void AutoregressiveSession::startSampling(const AutoregressiveSetup& setup, quint64 generation) {
    const QString file = QFileInfo(setup.checkpointPath).fileName();
    try {
        const QString key = QFileInfo(setup.checkpointPath).absoluteFilePath() + '|' + setup.device;
        std::shared_ptr<GenerativeModel> model;
        if (m_sampling && m_sampling->modelKey == key) model = m_sampling->model;
        m_sampling.reset();
        if (!model) {
            torch::Device device = torch::kCPU;
            try {
                device = parseDevice(setup.device.toStdString());
            } catch (const ModelError& e) {
                throw DataError(e.what());
            }
            model = std::shared_ptr<GenerativeModel>(
                loadCheckpoint(setup.checkpointPath, device).model.release());
        }
        if (!model->capabilities().autoregressive)
            throw DataError(QStringLiteral("%1: a %2 model cannot be sampled step by step")
                                .arg(file, QString::fromStdString(model->family()))
                                .toStdString());
        model->train(false);

        auto sampling = std::make_unique<Sampling>();
        sampling->modelKey = key;
        sampling->model = model;
        sampling->generation = generation;
        const ImageShape shape = model->imageShape();
        auto* vqvae = dynamic_cast<VqVae*>(model.get());
        sampling->gridHeight = int(vqvae ? vqvae->options().gridHeight() : shape.height);
        sampling->gridWidth = int(vqvae ? vqvae->options().gridWidth() : shape.width);
        sampling->cellSize = int(shape.height / sampling->gridHeight);
        sampling->channels = int(vqvae ? 1 : shape.channels);

        SamplerOptions options;
        options.temperature = setup.temperature;
        options.cached = true;
        if (!setup.anchorImage.empty()) {
            const torch::Tensor image = matForModel(setup.anchorImage, shape).to(model->device());
            torch::Tensor mask = setup.anchorMask.empty()
                                     ? torch::ones({1, 1, shape.height, shape.width})
                                     : maskTensor(setup.anchorMask, shape);
            if (vqvae) {
                options.anchors = vqvae->encodeCodes(image)[0];
                // A code cell is kept when most of its pixels are.
                mask = torch::adaptive_avg_pool2d(
                    (mask > 0).to(torch::kFloat),
                    {int64_t(sampling->gridHeight), int64_t(sampling->gridWidth)});
                options.anchorMask = (mask[0][0] >= 0.5).to(model->device());
            } else {
                options.anchors = image;
                options.anchorMask = (mask[0][0] > 0).to(model->device());
            }
        }
        for (int i = 0; i < std::max(1, setup.completions); ++i) {
            options.seed = setup.seed + quint64(i);
            sampling->samplers.push_back(model->sampler(options));
        }
        m_sampling = std::move(sampling);
        AutoregressiveStep initial = describe(nullptr, true);
        emit stepped(initial);
    } catch (const std::exception& e) {
        m_sampling.reset();
        emit failed(generation, QString::fromUtf8(e.what()));
    }
}

AutoregressiveStep AutoregressiveSession::stepAll(bool wantImages) {
    QElapsedTimer timer;
    timer.start();
    SampleStep first;
    for (size_t i = 0; i < m_sampling->samplers.size(); ++i) {
        SampleStep s = m_sampling->samplers[i]->step();
        if (i == 0) first = std::move(s);
    }
    const double ms = timer.nsecsElapsed() / 1e6;
    AutoregressiveStep step = describe(&first, wantImages);
    step.msPerStep = ms;
    return step;
}

AutoregressiveStep AutoregressiveSession::describe(const SampleStep* last, bool wantImages) const {
    const Sampling& s = *m_sampling;
    const AutoregressiveSampler& first = *s.samplers.front();
    AutoregressiveStep step;
    step.generation = s.generation;
    step.family = QString::fromStdString(s.model->family());
    step.stepsDone = first.stepsDone();
    step.totalSteps = first.totalSteps();
    step.gridWidth = s.gridWidth;
    step.gridHeight = s.gridHeight;
    step.cellSize = s.cellSize;
    step.channels = s.channels;
    step.done = first.done();
    if (last) {
        step.position = last->position;
        step.channel = int(last->channel);
        step.row = int(last->row);
        step.col = int(last->col);
        step.value = int(last->value);
        step.anchored = last->anchored;
        if (last->probabilities.defined()) {
            const torch::Tensor p = last->probabilities.to(torch::kCPU, torch::kFloat).contiguous();
            step.distribution.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
        }
    }
    if (wantImages)
        for (const auto& sampler : s.samplers) step.images.push_back(tensorToMat(sampler->image()));
    return step;
}

}  // namespace le
