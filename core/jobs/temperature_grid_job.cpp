#include "core/jobs/temperature_grid_job.h"

#include "core/errors.h"
#include "core/imaging/image_io.h"
#include "core/latent/sampling.h"
#include "core/storage/model_catalog.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>

namespace le {

std::vector<double> sweepTemperatures() {
    return {0.25, 0.5, 0.75, 1.0, 1.25};
}

TemperatureGridJob::TemperatureGridJob(QObject* parent)
    : RequestJob(QStringLiteral("temperature-grid-job"), parent) {
    qRegisterMetaType<le::TemperatureCell>();
}

TemperatureGridJob::~TemperatureGridJob() {
    stop();
}

void TemperatureGridJob::process(quint64 generation) {
    const TemperatureRequest& request = this->request();
    const int rows = int(request.checkpoints.size());
    const int columns = int(request.temperatures.size());
    const qint64 total = qint64(rows) * columns * 1000;
    qint64 done = 0;
    {
        torch::NoGradGuard noGrad;
        // Drop models no longer asked for (a dataset change); keep the rest loaded.
        models().keepOnly(request.checkpoints);

        struct Row {
            GenerativeModel* model = nullptr;
            QString title, family, error;
            bool slow = false;
        };
        std::vector<Row> table(static_cast<size_t>(rows));
        for (int r = 0; r < rows && !superseded(); ++r) {
            const QString& path = request.checkpoints[r];
            report(generation, done, total, tr("Loading %1\u2026").arg(QFileInfo(path).fileName()));
            Row& row = table[size_t(r)];
            try {
                const auto loaded = models().get(path, request.device);
                row.model = loaded->model.get();  // kept by the cache for this request
                row.family = loaded->header.family;
                row.title = QStringLiteral("%1 \u00b7 %2")
                                .arg(familyTitle(row.family), loaded->header.dataset);
                if (!row.model->capabilities().sample)
                    throw DataError(QStringLiteral("%1: a %2 model cannot sample")
                                        .arg(QFileInfo(path).fileName(), familyTitle(row.family))
                                        .toStdString());
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
            cell.family = table[size_t(r)].family;
            cell.title = table[size_t(r)].title;
            cell.error = table[size_t(r)].error;
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
                    const Row& row = table[size_t(r)];
                    if (row.slow != slowPass) continue;
                    TemperatureCell cell = cellOf(r, c);
                    if (row.model) {
                        report(generation, done, total,
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
                                    report(generation, done + 1000 * stepsDone / steps, total, {});
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
                    report(generation, done, total, {});
                }
            }
        }
    }
}

}  // namespace le
