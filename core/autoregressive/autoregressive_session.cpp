#include "core/autoregressive/autoregressive_session.h"

#include "core/threads.h"

#include "core/autoregressive/entropy_grid.h"
#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/storage/checkpoint.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>
#include <limits>

namespace le {

namespace {

// A pixel mask (1×1×H×W, nonzero kept) as the packed code grid's mask: a cell of each level is
// kept when most of the pixels under it are.
torch::Tensor codeCellMask(const torch::Tensor& pixels, const std::vector<CellGrid>& grids,
                           int rows, int cols) {
    std::vector<torch::Tensor> levels;
    for (const CellGrid& g : grids)
        levels.push_back(
            torch::adaptive_avg_pool2d((pixels > 0).to(torch::kFloat), {g.height, g.width})
                .flatten());
    return (torch::cat(levels) >= 0.5).reshape({rows, cols});
}

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
    std::shared_ptr<GenerativeModel> model;
    std::vector<std::unique_ptr<AutoregressiveSampler>> samplers;
    quint64 generation = 0;
    quint64 branch = 0;
    int gridWidth = 0, gridHeight = 0, cellSize = 1, channels = 1;
    std::vector<CellGrid> grids;
    bool codes = false;  // VQ-VAE: the samplers' anchors are code grids, not images
    // The user's anchors in the samplers' convention (1×C×H×W image in [-1, 1], or an H×W code
    // grid) and their grid-sized bool mask; undefined when starting from blank.
    torch::Tensor userAnchors, userMask;
    std::vector<float> entropy;    // bits per step done (completion 0), NaN where anchored
    std::vector<float> inherited;  // a branch: the source's entropy of the steps before the fork
    qint64 frameEvery = 1;         // steps between video frames, whole cells
    qint64 lastFrame = -1;         // stepsDone of the last frame recorded
    std::vector<AutoregressiveFrame> pendingFrames;
    SampleStep last;  // completion 0's last step; position < 0 before any
    double msPerStep = 0;
    qint64 imagesAt = -1;  // the stepsDone `images` show
    QVector<cv::Mat> images;

    Sampling() { last.position = -1; }
    qint64 stepsDone() const { return samplers.front()->stepsDone(); }
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
    Job job;
    job.kind = Job::Restart;
    job.generation = ++m_generation;
    job.setup = setup;
    m_jobs.clear();  // whatever was queued is about the run being replaced
    m_jobs.push_back(job);
    m_mode = Mode::Paused;
    if (!QThread::isRunning()) start(QThread::LowPriority);
    m_wake.wakeOne();
    return job.generation;
}

quint64 AutoregressiveSession::branch(quint64 source, qint64 forkCells, quint64 seed,
                                      double temperature, qint64 steps) {
    QMutexLocker lock(&m_mutex);
    Job job;
    job.kind = Job::Branch;
    job.generation = ++m_generation;
    job.branch = source;
    job.forkCells = forkCells;
    job.seed = seed;
    job.temperature = temperature;
    job.steps = steps;
    m_jobs.push_back(job);
    m_mode = Mode::Paused;
    if (!QThread::isRunning()) start(QThread::LowPriority);
    m_wake.wakeOne();
    return job.generation;
}

quint64 AutoregressiveSession::switchTo(quint64 branch) {
    QMutexLocker lock(&m_mutex);
    Job job;
    job.kind = Job::Switch;
    job.generation = ++m_generation;
    job.branch = branch;
    m_jobs.push_back(job);
    m_mode = Mode::Paused;
    if (!QThread::isRunning()) start(QThread::LowPriority);
    m_wake.wakeOne();
    return job.generation;
}

void AutoregressiveSession::forget(quint64 branch) {
    QMutexLocker lock(&m_mutex);
    Job job;
    job.kind = Job::Forget;
    job.branch = branch;
    m_jobs.push_back(job);
    m_wake.wakeOne();
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
    return m_mode != Mode::Paused || !m_jobs.empty() || m_inJob;
}

void AutoregressiveSession::run() {
    useOneTorchThreadHere();    // one image, position by position: too small to split
    torch::NoGradGuard noGrad;  // thread-local: made in the thread that runs the model
    QElapsedTimer sinceReport;
    sinceReport.start();
    for (;;) {
        QMutexLocker lock(&m_mutex);
        auto canStep = [this] {
            return m_sampling && !m_sampling->samplers.empty() &&
                   !m_sampling->samplers.front()->done() && m_sampling->generation == m_generation;
        };
        // A state not yet shown (a fast run stopped between reports) goes out before waiting.
        auto mustFlush = [&] {
            return m_unreported && m_sampling && (m_mode == Mode::Paused || !canStep());
        };
        while (!m_abort && m_jobs.empty() && !mustFlush() &&
               (m_mode == Mode::Paused || !canStep())) {
            if (m_mode != Mode::Paused) {  // nothing left to step: the command is over
                m_mode = Mode::Paused;
                emit stopped();
                continue;
            }
            m_wake.wait(&m_mutex);
        }
        if (m_abort) return;
        if (mustFlush()) {
            m_unreported = false;
            lock.unlock();
            emit stepped(describe());
            continue;
        }
        if (!m_jobs.empty()) {
            const Job job = std::move(m_jobs.front());
            m_jobs.pop_front();
            m_inJob = true;  // busy while a job samples (a restored run), though the queue is empty
            lock.unlock();
            runJob(job);
            lock.relock();
            m_inJob = false;
            continue;
        }

        AutoregressiveSampler& first = *m_sampling->samplers.front();
        const qint64 rowLength = qint64(m_sampling->gridWidth) * m_sampling->channels;
        if (m_mode == Mode::Steps && m_stepsLeft == kToRowEnd)
            m_stepsLeft = rowLength - first.stepsDone() % rowLength;
        const bool counted = m_mode == Mode::Steps || m_mode == Mode::Replay;
        const bool lastOfCommand =
            (counted && m_stepsLeft == 1) || first.stepsDone() + 1 >= first.totalSteps();
        const bool fast = m_mode == Mode::ToEnd || m_mode == Mode::Replay ||
                          (m_mode == Mode::Playing && m_stepsPerSecond > 25);
        const bool report = !fast || lastOfCommand || sinceReport.elapsed() >= kReportEveryMs;
        const quint64 generation = m_sampling->generation;
        lock.unlock();

        AutoregressiveStep step;
        try {
            stepAll();
            if (report) step = describe();
        } catch (const std::exception& e) {
            emit failed(generation, QString::fromUtf8(e.what()));
            lock.relock();
            m_sampling.reset();
            m_unreported = false;
            m_mode = Mode::Paused;
            continue;
        }
        m_unreported = !report;
        if (report) {
            sinceReport.restart();
            emit stepped(step);
        }

        lock.relock();
        if (m_generation != generation) continue;  // restarted meanwhile
        if (counted && --m_stepsLeft <= 0) {
            m_mode = Mode::Paused;
            emit stopped();
        } else if (first.done() && m_mode != Mode::Paused) {
            m_mode = Mode::Paused;
            emit stopped();
        } else if (m_mode == Mode::Playing) {
            // Interruptible by any command: pause, a new speed, a restart, abort.
            m_wake.wait(&m_mutex, (unsigned long)std::max(1.0, 1000.0 / m_stepsPerSecond));
        }
    }
}

void AutoregressiveSession::runJob(const Job& job) {
    switch (job.kind) {
        case Job::Restart:
            startSampling(job.setup, job.generation);
            return;
        case Job::Forget:
            m_parked.erase(job.branch);
            return;
        case Job::Branch:
        case Job::Switch:
            try {
                job.kind == Job::Branch ? startBranch(job) : switchBranch(job);
            } catch (const std::exception& e) {
                // A branch that failed while sampling its first steps is not kept half made.
                if (job.kind == Job::Branch && m_sampling && m_sampling->branch == job.generation)
                    m_sampling.reset();
                emit failed(job.generation, QString::fromUtf8(e.what()));
            }
            return;
    }
}

// The current branch into m_parked, its last state shown first so that what the GUI keeps of it
// is complete.
void AutoregressiveSession::park() {
    if (!m_sampling) return;
    if (m_unreported) {
        m_unreported = false;
        emit stepped(describe());
    }
    const quint64 id = m_sampling->branch;
    m_parked[id] = std::move(m_sampling);
}

void AutoregressiveSession::startSampling(const AutoregressiveSetup& setup, quint64 generation) {
    const QString file = QFileInfo(setup.checkpointPath).fileName();
    m_unreported = false;
    try {
        m_sampling.reset();
        m_parked.clear();
        // Kept across restarts by the cache; only the previous model stays loaded.
        m_models.keepOnly({setup.checkpointPath});
        const std::shared_ptr<GenerativeModel> model =
            m_models.get(setup.checkpointPath, setup.device)->model;
        if (!model->capabilities().autoregressive)
            throw DataError(QStringLiteral("%1: a %2 model cannot be sampled step by step")
                                .arg(file, QString::fromStdString(model->family()))
                                .toStdString());
        model->train(false);

        auto sampling = std::make_unique<Sampling>();
        sampling->model = model;
        sampling->generation = generation;
        sampling->branch = generation;
        const ImageShape shape = model->imageShape();
        CodeGridModel* grid = model->codeGrid();
        sampling->codes = grid != nullptr;
        sampling->gridHeight = int(grid ? grid->gridHeight() : shape.height);
        sampling->gridWidth = int(grid ? grid->gridWidth() : shape.width);
        sampling->cellSize = int(shape.height / sampling->gridHeight);
        sampling->grids = cellGrids(grid, shape);
        sampling->channels = int(grid ? 1 : shape.channels);
        const qint64 cells = qint64(sampling->gridWidth) * sampling->gridHeight;
        sampling->frameEvery = std::max<qint64>(1, cells / kVideoFrames) * sampling->channels;

        SamplerOptions options;
        options.temperature = setup.temperature;
        options.cached = true;
        if (!setup.anchorImage.empty()) {
            const torch::Tensor image = matForModel(setup.anchorImage, shape).to(model->device());
            torch::Tensor mask = setup.anchorMask.empty()
                                     ? torch::ones({1, 1, shape.height, shape.width})
                                     : maskTensor(setup.anchorMask, shape);
            if (grid) {
                options.anchors = grid->encodeCodes(image)[0];
                options.anchorMask =
                    codeCellMask(mask, sampling->grids, sampling->gridHeight, sampling->gridWidth)
                        .to(model->device());
            } else {
                options.anchors = image;
                options.anchorMask = (mask[0][0] > 0).to(model->device());
            }
            sampling->userAnchors = options.anchors;
            sampling->userMask = options.anchorMask;
        }
        for (int i = 0; i < std::max(1, setup.completions); ++i) {
            options.seed = setup.seed + quint64(i);
            sampling->samplers.push_back(model->sampler(options));
        }
        m_sampling = std::move(sampling);
        recordFrame(true);
        sampleTo(setup.steps);
        emit stepped(describe());
    } catch (const std::exception& e) {
        m_sampling.reset();
        emit failed(generation, QString::fromUtf8(e.what()));
    }
}

void AutoregressiveSession::startBranch(const Job& job) {
    Sampling* source = nullptr;
    if (m_sampling && m_sampling->branch == job.branch) {
        source = m_sampling.get();
    } else if (auto it = m_parked.find(job.branch); it != m_parked.end()) {
        source = it->second.get();
    }
    if (!source)
        throw DataError(QStringLiteral("cannot branch: branch %1 is gone (restarted or dropped)")
                            .arg(job.branch)
                            .toStdString());
    const qint64 cells = qint64(source->gridWidth) * source->gridHeight;
    const qint64 filled = source->stepsDone() / source->channels;  // whole cells only
    if (job.forkCells < 0 || job.forkCells > filled || job.forkCells >= cells)
        throw DataError(QStringLiteral("cannot branch at position %1: the source has %2 of %3 "
                                       "positions filled")
                            .arg(job.forkCells + 1)
                            .arg(filled)
                            .arg(cells)
                            .toStdString());

    auto branch = std::make_unique<Sampling>();
    branch->model = source->model;
    branch->generation = job.generation;
    branch->branch = job.generation;
    branch->gridWidth = source->gridWidth;
    branch->gridHeight = source->gridHeight;
    branch->cellSize = source->cellSize;
    branch->grids = source->grids;
    branch->channels = source->channels;
    branch->codes = source->codes;
    branch->userAnchors = source->userAnchors;
    branch->userMask = source->userMask;
    branch->frameEvery = source->frameEvery;
    const qint64 forkSteps = job.forkCells * source->channels;
    branch->inherited.assign(source->entropy.begin(), source->entropy.begin() + forkSteps);

    const torch::Device device = source->model->device();
    // Raster order over the grid: the first forkCells cells are kept.
    const torch::Tensor prefix =
        (torch::arange(int64_t(cells)).reshape({source->gridHeight, source->gridWidth}) <
         int64_t(job.forkCells))
            .to(device);
    SamplerOptions options;
    options.temperature = job.temperature;
    options.cached = true;
    options.anchorMask = source->userMask.defined()
                             ? torch::logical_or(prefix, source->userMask.to(torch::kBool))
                             : prefix;
    for (size_t i = 0; i < source->samplers.size(); ++i) {
        const AutoregressiveSampler& from = *source->samplers[i];
        // The source's values in the samplers' own anchor convention; unfilled cells are never
        // kept (they lie past the fork), only brought into range.
        const torch::Tensor kept =
            source->codes
                ? from.values().reshape({source->gridHeight, source->gridWidth}).clamp_min(0)
                : from.image();
        options.anchors =
            source->userAnchors.defined()
                ? torch::where(prefix, kept,
                               source->userAnchors.to(kept.dtype()).reshape(kept.sizes()))
                : kept;
        options.seed = job.seed + quint64(i);
        branch->samplers.push_back(branch->model->sampler(options));
    }

    park();
    m_sampling = std::move(branch);
    recordFrame(true);
    if (job.steps > 0) {
        sampleTo(job.steps);
    } else {
        QMutexLocker lock(&m_mutex);
        if (m_generation == job.generation && forkSteps > 0) {
            m_mode = Mode::Replay;
            m_stepsLeft = forkSteps;
        }
    }
    emit stepped(describe());
}

// Steps the current branch until `steps` are done, without reports in between (the caller
// reports once): entropy and video frames are recorded as in a run stepped by hand.
void AutoregressiveSession::sampleTo(qint64 steps) {
    const AutoregressiveSampler& first = *m_sampling->samplers.front();
    while (first.stepsDone() < steps && !first.done() && !interrupted()) stepAll();
}

// Aborted, or a restart is waiting that replaces whatever is being sampled.
bool AutoregressiveSession::interrupted() const {
    QMutexLocker lock(&m_mutex);
    return m_abort || std::any_of(m_jobs.begin(), m_jobs.end(),
                                  [](const Job& job) { return job.kind == Job::Restart; });
}

void AutoregressiveSession::switchBranch(const Job& job) {
    if (!m_sampling || m_sampling->branch != job.branch) {
        auto it = m_parked.find(job.branch);
        if (it == m_parked.end())
            throw DataError(QStringLiteral("branch %1 is gone (restarted or dropped)")
                                .arg(job.branch)
                                .toStdString());
        std::unique_ptr<Sampling> target = std::move(it->second);
        m_parked.erase(it);
        park();
        m_sampling = std::move(target);
    }
    m_sampling->generation = job.generation;
    emit stepped(describe());
}

const QVector<cv::Mat>& AutoregressiveSession::currentImages() {
    Sampling& s = *m_sampling;
    if (s.imagesAt != s.stepsDone()) {
        s.images.clear();
        for (const auto& sampler : s.samplers) s.images.push_back(tensorToMat(sampler->image()));
        s.imagesAt = s.stepsDone();
    }
    return s.images;
}

void AutoregressiveSession::recordFrame(bool force) {
    Sampling& s = *m_sampling;
    const qint64 done = s.stepsDone();
    if (done <= s.lastFrame) return;
    if (!force && done % s.frameEvery != 0 && !s.samplers.front()->done()) return;
    s.pendingFrames.push_back(AutoregressiveFrame{done, currentImages()});
    s.lastFrame = done;
}

void AutoregressiveSession::stepAll() {
    Sampling& s = *m_sampling;
    QElapsedTimer timer;
    timer.start();
    SampleStep first;
    for (size_t i = 0; i < s.samplers.size(); ++i) {
        SampleStep step = s.samplers[i]->step();
        if (i == 0) first = std::move(step);
    }
    s.msPerStep = timer.nsecsElapsed() / 1e6;
    float bits = std::numeric_limits<float>::quiet_NaN();
    if (first.probabilities.defined()) {
        first.probabilities = first.probabilities.to(torch::kCPU, torch::kFloat).contiguous();
        bits = float(entropyBits(first.probabilities.data_ptr<float>(),
                                 size_t(first.probabilities.numel())));
    } else if (first.position < qint64(s.inherited.size())) {
        bits = s.inherited[size_t(first.position)];  // replayed: what the source predicted
    }
    s.entropy.resize(size_t(first.position));  // no-op: positions come in order
    s.entropy.push_back(bits);
    s.last = std::move(first);
    recordFrame(false);
}

AutoregressiveStep AutoregressiveSession::describe() {
    Sampling& s = *m_sampling;
    const AutoregressiveSampler& first = *s.samplers.front();
    AutoregressiveStep step;
    step.generation = s.generation;
    step.branch = s.branch;
    step.family = QString::fromStdString(s.model->family());
    step.valueName = QString::fromStdString(first.valueName());
    step.stepsDone = first.stepsDone();
    step.totalSteps = first.totalSteps();
    step.gridWidth = s.gridWidth;
    step.gridHeight = s.gridHeight;
    step.cellSize = s.cellSize;
    step.grids = s.grids;
    step.channels = s.channels;
    step.done = first.done();
    step.msPerStep = s.msPerStep;
    if (s.last.position >= 0) {
        const SampleStep& last = s.last;
        step.position = last.position;
        step.channel = int(last.channel);
        step.row = int(last.row);
        step.col = int(last.col);
        step.value = int(last.value);
        step.anchored = last.anchored;
        if (last.probabilities.defined()) {
            const torch::Tensor& p = last.probabilities;  // CPU float, contiguous (stepAll)
            step.distribution.assign(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
        }
    }
    step.images = currentImages();
    step.entropyBits = s.entropy;
    step.frames = std::move(s.pendingFrames);
    s.pendingFrames.clear();
    return step;
}

}  // namespace le
