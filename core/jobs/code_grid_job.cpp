#include "core/jobs/code_grid_job.h"
#include "core/imaging/compose.h"

#include "core/data/datasets.h"
#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/jobs/inversion_job.h"
#include "core/storage/checkpoint.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

constexpr int kPaletteBatch = 64;  // codes decoded at once for the palette

torch::Tensor codesTensor(const QVector<int>& codes, int rows, int cols) {
    if (codes.size() != rows * cols)
        throw DataError("code grid: expected " + std::to_string(rows * cols) + " codes, got " +
                        std::to_string(codes.size()));
    torch::Tensor t = torch::empty({1, rows, cols}, torch::kLong);
    int64_t* data = t.data_ptr<int64_t>();
    for (int i = 0; i < codes.size(); ++i) data[i] = codes[i];
    return t;
}

}  // namespace

int CodeUsage::deadCodes() const {
    return int(std::count(counts.begin(), counts.end(), qint64{0}));
}

void registerCodeGridMetaTypes() {
    qRegisterMetaType<le::CodePalette>();
    qRegisterMetaType<le::CodeGridDecode>();
    qRegisterMetaType<le::CodeUsage>();
}

CodeGridJob::CodeGridJob(QObject* parent) : QThread(parent) {
    registerCodeGridMetaTypes();
    setObjectName(QStringLiteral("code-grid-job"));
}

CodeGridJob::~CodeGridJob() {
    {
        QMutexLocker lock(&m_mutex);
        m_abort = true;
        m_wake.wakeOne();
    }
    wait();
}

quint64 CodeGridJob::setModel(const QString& checkpoint, const QString& device, int usageImages) {
    QMutexLocker lock(&m_mutex);
    m_wantedCheckpoint = checkpoint;
    m_wantedDevice = device;
    m_wantedUsageImages = std::max(1, usageImages);
    m_modelPending = true;
    m_decodePending = false;  // a decode for the previous model is moot
    const quint64 serial = ++m_modelSerial;
    if (!isRunning())
        start(QThread::LowPriority);
    else
        m_wake.wakeOne();
    return serial;
}

void CodeGridJob::requestDecode(quint64 id, const QVector<int>& base, const QVector<int>& codes) {
    QMutexLocker lock(&m_mutex);
    m_decode = DecodeRequest{id, base, codes};
    m_decodePending = true;
    if (!isRunning())
        start(QThread::LowPriority);
    else
        m_wake.wakeOne();
}

QVector<qint64> CodeGridJob::countCodes(CodeGridModel& model, const torch::Tensor& images) {
    torch::NoGradGuard noGrad;
    const int64_t k = model.codeCount();
    const torch::Tensor codes = model.encodeCodes(images).flatten().to(torch::kCPU);
    const torch::Tensor counts = torch::bincount(codes, {}, k).to(torch::kLong).contiguous();
    QVector<qint64> out(k, 0);
    const int64_t* data = counts.data_ptr<int64_t>();
    for (int i = 0; i < int(k); ++i) out[i] = data[i];
    return out;
}

void CodeGridJob::run() {
    for (;;) {
        QString checkpoint, device;
        quint64 serial = 0;
        DecodeRequest request;
        enum { LoadModel, Decode, CountUsage } work = CountUsage;
        {
            QMutexLocker lock(&m_mutex);
            while (!m_abort && !m_modelPending && !m_decodePending && m_usageNext < 0)
                m_wake.wait(&m_mutex);
            if (m_abort) return;
            if (m_modelPending) {
                work = LoadModel;
                m_modelPending = false;
                checkpoint = m_wantedCheckpoint;
                device = m_wantedDevice;
                serial = m_modelSerial;
                m_usage = CodeUsage();
                m_usage.images = m_wantedUsageImages;  // the target until the dataset is known
                m_usageNext = -1;
            } else if (m_decodePending) {
                work = Decode;
                m_decodePending = false;
                request = m_decode;
            } else {
                work = CountUsage;
            }
        }
        if (work == LoadModel)
            loadModel(checkpoint, device, serial);
        else if (work == Decode)
            decode(request);
        else
            countUsageChunk();
    }
}

void CodeGridJob::loadModel(const QString& checkpoint, const QString& device, quint64 serial) {
    CodePalette palette;
    palette.model = serial;
    palette.checkpoint = checkpoint;
    try {
        if (checkpoint != m_checkpoint || !m_model) {
            m_model.reset();
            m_checkpoint.clear();
            m_cachedBase.clear();
            m_models.keepOnly({checkpoint});
            const std::shared_ptr<const CachedModel> loaded = m_models.get(checkpoint, device);
            if (!loaded->model->codeGrid())
                throw DataError(QStringLiteral("%1: a %2 checkpoint has no code grid to edit")
                                    .arg(QFileInfo(checkpoint).fileName(), loaded->header.family)
                                    .toStdString());
            m_model = loaded->model;
            m_checkpoint = checkpoint;
            m_dataset = loaded->header.dataset;
        }
        torch::NoGradGuard noGrad;
        CodeGridModel& grid = *m_model->codeGrid();
        palette.codes = int(grid.codeCount());
        palette.rows = int(grid.gridHeight());
        palette.cols = int(grid.gridWidth());
        for (int64_t first = 0; first < grid.codeCount(); first += kPaletteBatch) {
            const int64_t n = std::min<int64_t>(kPaletteBatch, grid.codeCount() - first);
            const torch::Tensor filled = torch::arange(first, first + n, torch::kLong)
                                             .view({n, 1, 1})
                                             .expand({n, grid.gridHeight(), grid.gridWidth()})
                                             .contiguous();
            const torch::Tensor images = grid.decodeCodes(filled).to(torch::kCPU);
            for (int64_t i = 0; i < n; ++i) palette.pictures.push_back(tensorToMat(images[i]));
        }
    } catch (const std::exception& e) {
        palette.error = QString::fromUtf8(e.what());
        m_model.reset();
        m_checkpoint.clear();
    }
    emit paletteReady(palette);
    if (!m_model) return;

    const auto done = m_usageDone.find(m_checkpoint);
    if (done != m_usageDone.end()) {
        emit usageReady(done->second);
        return;
    }
    QMutexLocker lock(&m_mutex);
    if (m_modelPending) return;  // superseded already
    m_usage.checkpoint = m_checkpoint;
    m_usage.dataset = m_dataset;
    m_usage.counts = QVector<qint64>(palette.codes, 0);
    m_usageNext = 0;
}

void CodeGridJob::decode(const DecodeRequest& request) {
    CodeGridDecode out;
    out.id = request.id;
    QElapsedTimer timer;
    timer.start();
    try {
        if (!m_model) throw DataError("code grid: no VQ-VAE is loaded");
        torch::NoGradGuard noGrad;
        CodeGridModel& grid = *m_model->codeGrid();
        const int rows = int(grid.gridHeight()), cols = int(grid.gridWidth());
        for (int code : request.codes)
            if (code < 0 || code >= grid.codeCount())
                throw DataError("code grid: code " + std::to_string(code) + " is outside 0.." +
                                std::to_string(grid.codeCount() - 1));
        if (request.base != m_cachedBase || m_cachedOriginal.empty()) {
            m_cachedOriginal = tensorToMat(
                grid.decodeCodes(codesTensor(request.base, rows, cols)).to(torch::kCPU)[0]);
            m_cachedBase = request.base;
        }
        out.original = m_cachedOriginal;
        out.edited =
            request.codes == request.base
                ? m_cachedOriginal.clone()
                : tensorToMat(
                      grid.decodeCodes(codesTensor(request.codes, rows, cols)).to(torch::kCPU)[0]);
        out.difference = errorHeatMap(out.original, out.edited);
        cv::Mat diff;
        cv::absdiff(out.original, out.edited, diff);
        if (diff.channels() == 3) cv::cvtColor(diff, diff, cv::COLOR_RGB2GRAY);
        out.changedPixels = cv::countNonZero(diff > 8);
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    out.ms = timer.nsecsElapsed() / 1e6;
    emit decoded(out);
}

void CodeGridJob::countUsageChunk() {
    int first = 0, wanted = 0;
    {
        QMutexLocker lock(&m_mutex);
        first = m_usageNext;
        wanted = m_wantedUsageImages;
    }
    if (first < 0 || !m_model) return;
    bool finished = false;
    try {
        const Dataset& data = DatasetCache::instance().get(m_usage.dataset);
        const int total = int(std::min<int64_t>(wanted, data.test.size()));
        m_usage.images = total;
        const int n = std::min(kUsageBatch, total - first);
        if (n > 0) {
            const torch::Tensor images =
                fitToShape(data.test.images.slice(0, first, first + n), m_model->imageShape())
                    .to(m_model->device());
            const QVector<qint64> counts = countCodes(*m_model->codeGrid(), images);
            for (int k = 0; k < counts.size(); ++k) m_usage.counts[k] += counts[k];
        }
        first += std::max(n, 0);
        emit usageProgress(first, total);
        finished = first >= total;
    } catch (const std::exception& e) {
        m_usage.error = QString::fromUtf8(e.what());
        finished = true;
    }
    QMutexLocker lock(&m_mutex);
    if (m_modelPending) return;  // a new model: this count is dropped
    if (!finished) {
        m_usageNext = first;
        return;
    }
    m_usageNext = -1;
    if (m_usage.error.isEmpty()) m_usageDone[m_usage.checkpoint] = m_usage;
    const CodeUsage usage = m_usage;
    lock.unlock();
    emit usageReady(usage);
}

}  // namespace le
