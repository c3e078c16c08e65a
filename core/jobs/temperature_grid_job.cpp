#include "core/jobs/temperature_grid_job.h"

#include "core/errors.h"
#include "core/imaging/image_io.h"
#include "core/storage/checkpoint.h"
#include "core/storage/model_catalog.h"
#include "models/pixelcnn.h"
#include "models/vqvae.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMutexLocker>

#include <algorithm>

namespace le {

struct TemperatureGridJob::Loaded {
    LoadedCheckpoint checkpoint;
    QString device;
    QString title;
};

std::vector<double> sweepTemperatures() {
    return {0.25, 0.5, 0.75, 1.0, 1.25};
}

QString temperatureMeaning(const QString& family) {
    if (family == QLatin1String("vae"))
        return QObject::tr("z ~ N(0, T\u00b2\u00b7I): T scales the prior's \u03c3");
    if (family == QLatin1String("dcgan"))
        return QObject::tr(
            "z = T\u00b7\u03b5: truncation \u03c8 = T, latents pulled toward the "
            "mean");
    if (family == QLatin1String("glow"))
        return QObject::tr("\u03b5 scaled by T at every level, inside each level's prior");
    if (family == QLatin1String("pixelcnn"))
        return QObject::tr("softmax(logits / T) at every pixel");
    if (family == QLatin1String("vqvae"))
        return QObject::tr("softmax(logits / T) at every code of the PixelCNN prior");
    return QObject::tr("the prior's spread");
}

torch::Tensor sampleProgressively(GenerativeModel& model, int64_t count, double temperature,
                                  uint64_t seed, const PartialSamples& partial) {
    torch::NoGradGuard noGrad;
    auto* pixelCnn = dynamic_cast<PixelCnn*>(&model);
    auto* vqvae = dynamic_cast<VqVae*>(&model);
    if ((!pixelCnn && !vqvae) || count < 1) return model.sample(count, temperature, seed);

    model.checkTemperature(temperature);
    // The same stepper, batch, options and seed as PixelCnn::sample and VqVae::sample, so the
    // result is theirs exactly; stepping it here lets a caller watch and stop it.
    SamplerOptions options;
    options.temperature = temperature;
    options.seed = seed;
    PixelCnnStepper stepper(pixelCnn ? pixelCnn->net() : vqvae->net()->prior, count, options,
                            model.family());
    const int64_t blank = vqvae ? vqvae->blankCode() : 0;
    auto images = [&]() {
        const torch::Tensor v = stepper.values();
        if (pixelCnn)
            return torch::where(v < 0, torch::zeros({}, torch::kFloat), PixelCnn::fromValues(v));
        const torch::Tensor codes = v.select(1, 0);
        return vqvae->decodeCodes(torch::where(codes < 0, torch::full_like(codes, blank), codes));
    };
    // One report per image row (of pixels or of codes), so a row of the grid fills visibly.
    const int64_t perRow = pixelCnn ? model.imageShape().channels * model.imageShape().width
                                    : vqvae->options().gridWidth();
    const int64_t total = stepper.totalSteps();
    while (!stepper.done()) {
        stepper.step();
        if (!partial) continue;
        const int64_t done = stepper.stepsDone();
        const bool report = done % perRow == 0 && done < total;
        if (!partial(report ? images() : torch::Tensor(), done, total)) return {};
    }
    return images();
}

TemperatureGridJob::TemperatureGridJob(QObject* parent) : QThread(parent) {
    qRegisterMetaType<le::TemperatureCell>();
    setObjectName(QStringLiteral("temperature-grid-job"));
}

TemperatureGridJob::~TemperatureGridJob() {
    {
        QMutexLocker lock(&m_mutex);
        m_quit = true;
        m_restart = true;
        m_wake.wakeOne();
    }
    wait();
}

quint64 TemperatureGridJob::request(const TemperatureRequest& request) {
    QMutexLocker lock(&m_mutex);
    m_request = request;
    m_pending = true;
    m_restart = true;  // the running request (if any) stops at its next check
    const quint64 generation = ++m_generation;
    if (!isRunning())
        start(QThread::LowPriority);
    else
        m_wake.wakeOne();
    return generation;
}

void TemperatureGridJob::cancel() {
    quint64 unstarted = 0;
    {
        QMutexLocker lock(&m_mutex);
        m_restart = true;
        if (m_pending) {  // never picked up: nobody else will say it ended
            m_pending = false;
            unstarted = m_generation;
        }
    }
    if (unstarted) emit jobFinished(unstarted, true, {});
}

void TemperatureGridJob::run() {
    for (;;) {
        TemperatureRequest request;
        quint64 generation = 0;
        {
            QMutexLocker lock(&m_mutex);
            while (!m_pending && !m_quit) m_wake.wait(&m_mutex);
            if (m_quit) break;
            request = m_request;
            generation = m_generation;
            m_pending = false;
            m_restart = false;
        }
        process(request, generation);
    }
    m_models.clear();  // the modules die in the thread that used them
}

GenerativeModel* TemperatureGridJob::model(const QString& path, torch::Device device,
                                           QString* title) {
    const QString deviceName = QString::fromStdString(device.str());
    auto it = m_models.find(path);
    if (it == m_models.end() || it->second->device != deviceName) {
        auto loaded = std::make_shared<Loaded>();
        loaded->checkpoint = loadCheckpoint(path, device);
        loaded->device = deviceName;
        loaded->checkpoint.model->train(false);
        loaded->title =
            QStringLiteral("%1 \u00b7 %2")
                .arg(familyTitle(QString::fromStdString(loaded->checkpoint.model->family())),
                     loaded->checkpoint.header.dataset);
        if (!loaded->checkpoint.model->capabilities().sample)
            throw DataError(QStringLiteral("%1: a %2 model cannot sample")
                                .arg(QFileInfo(path).fileName(),
                                     QString::fromStdString(loaded->checkpoint.model->family()))
                                .toStdString());
        it = m_models.insert_or_assign(path, std::move(loaded)).first;
    }
    *title = it->second->title;
    return it->second->checkpoint.model.get();
}

void TemperatureGridJob::process(const TemperatureRequest& request, quint64 generation) {
    QString error;
    const int rows = int(request.checkpoints.size());
    const int columns = int(request.temperatures.size());
    const qint64 total = qint64(rows) * columns * 1000;
    qint64 done = 0;
    try {
        torch::NoGradGuard noGrad;
        torch::Device device = deviceFromName(request.device);
        // Drop models no longer asked for (a dataset change); keep the rest loaded.
        for (auto it = m_models.begin(); it != m_models.end();)
            it = request.checkpoints.contains(it->first) ? std::next(it) : m_models.erase(it);

        struct Row {
            GenerativeModel* model = nullptr;
            QString title, family, error;
            bool slow = false;
        };
        std::vector<Row> models(static_cast<size_t>(rows));
        for (int r = 0; r < rows && !superseded(); ++r) {
            const QString& path = request.checkpoints[r];
            emit progress(generation, done, total,
                          tr("Loading %1\u2026").arg(QFileInfo(path).fileName()));
            Row& row = models[size_t(r)];
            try {
                row.model = model(path, device, &row.title);
                row.family = QString::fromStdString(row.model->family());
                row.slow = row.model->capabilities().autoregressive;
            } catch (const std::exception& e) {
                row.error = QString::fromUtf8(e.what());
                row.title = QFileInfo(path).fileName();
            }
        }

        auto cellOf = [&](int r, int c) {
            TemperatureCell cell;
            cell.row = r;
            cell.column = c;
            cell.temperature = request.temperatures[size_t(c)];
            cell.checkpointPath = request.checkpoints[r];
            cell.family = models[size_t(r)].family;
            cell.title = models[size_t(r)].title;
            cell.error = models[size_t(r)].error;
            return cell;
        };
        auto fill = [&](TemperatureCell& cell, const torch::Tensor& images) {
            const torch::Tensor cpu = images.to(torch::kCPU);
            cell.images.clear();
            for (int64_t i = 0; i < cpu.size(0); ++i) cell.images.push_back(tensorToMat(cpu[i]));
            cell.tile = tileImages(cpu, std::max(1, request.tileColumns));
        };

        // Fast families first, every column, so they never wait for the autoregressive ones.
        for (const bool slowPass : {false, true}) {
            for (int c = 0; c < columns; ++c) {
                for (int r = 0; r < rows; ++r) {
                    if (superseded()) break;
                    const Row& row = models[size_t(r)];
                    if (row.slow != slowPass) continue;
                    TemperatureCell cell = cellOf(r, c);
                    if (row.model) {
                        emit progress(generation, done, total,
                                      tr("Sampling %1 at T = %2\u2026")
                                          .arg(row.title)
                                          .arg(cell.temperature, 0, 'g', 3));
                        QElapsedTimer timer;
                        timer.start();
                        try {
                            const torch::Tensor samples = sampleProgressively(
                                *row.model, request.count, cell.temperature, request.seed,
                                [&](const torch::Tensor& partial, int64_t stepsDone,
                                    int64_t steps) {
                                    if (superseded()) return false;
                                    if (!partial.defined()) return true;
                                    cell.stepsDone = stepsDone;
                                    cell.totalSteps = steps;
                                    cell.ms = timer.nsecsElapsed() / 1e6;
                                    fill(cell, partial);
                                    emit cellReady(generation, cell);
                                    emit progress(generation, done + 1000 * stepsDone / steps,
                                                  total, {});
                                    return true;
                                });
                            if (!samples.defined()) break;  // superseded mid-way
                            cell.stepsDone = cell.totalSteps;
                            fill(cell, samples);
                        } catch (const std::exception& e) {
                            cell.error = QString::fromUtf8(e.what());
                        }
                        cell.ms = timer.nsecsElapsed() / 1e6;
                    }
                    cell.complete = true;
                    done += 1000;
                    emit cellReady(generation, cell);
                    emit progress(generation, done, total, {});
                }
            }
        }
    } catch (const std::exception& e) {
        error = QString::fromUtf8(e.what());
    }
    emit jobFinished(generation, superseded(), error);
}

}  // namespace le
