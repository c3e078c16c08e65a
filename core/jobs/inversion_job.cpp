#include "core/jobs/inversion_job.h"

#include "core/errors.h"
#include "core/imaging/compose.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/latent/inversion.h"
#include "core/metrics/metrics.h"
#include "core/storage/model_catalog.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>

namespace le {

namespace {

// Live images of a GAN's optimisation: often enough to look continuous, rarely enough that the
// decodes cost little against the optimiser steps.
constexpr qint64 kLiveIntervalNs = 70'000'000;

}  // namespace

InversionJob::InversionJob(QObject* parent) : RequestJob(QStringLiteral("inversion-job"), parent) {
    qRegisterMetaType<le::InversionOutcome>();
    qRegisterMetaType<le::InversionLive>();
}

InversionJob::~InversionJob() {
    stop();
}

quint64 InversionJob::begin(const InversionRequest& request) {
    InversionRequest copy = request;
    copy.image = request.image.clone();  // the view may draw on its own
    return submitRequest(copy);
}

void InversionJob::process(quint64 generation) {
    const int count = int(request().checkpoints.size());
    models().keepOnly(request().checkpoints);
    for (int i = 0; i < count && !superseded(); ++i) {
        report(generation, i, count,
               tr("Inverting with %1\u2026").arg(QFileInfo(request().checkpoints[i]).fileName()));
        emit outcome(generation, i, invertOne(i, generation));
    }
    if (!superseded()) report(generation, count, count);
}

InversionOutcome InversionJob::invertOne(int modelIndex, quint64 generation) {
    InversionOutcome start;
    start.checkpointPath = request().checkpoints[modelIndex];
    return capturingErrors(std::move(start), [&](InversionOutcome& out) {
        const auto loaded = models().get(out.checkpointPath, request().device);
        GenerativeModel& model = *loaded->model;
        out.family = loaded->header.family;
        out.method = routeName(inversionRoute(model.capabilities()));
        if (out.method.isEmpty())
            throw DataError(
                QStringLiteral("%1: a %2 model has no way to invert an image")
                    .arg(QFileInfo(out.checkpointPath).fileName(), familyTitle(out.family))
                    .toStdString());
        const torch::Tensor x = matForModel(request().image, model.imageShape());
        out.input = tensorToMat(x[0]);
        out.inputSharpness = meanSharpness(x);

        InversionSettings settings;
        settings.steps = std::max(1, request().optimisationSteps);
        settings.starts = std::max(0, request().starts);
        settings.seed = request().seed;
        QElapsedTimer timer, sinceLive;
        timer.start();
        const LatentInversion result =
            invertImage(model, x, settings, [&](const InversionUpdate& u) {
                if (u.totalSteps > 1)
                    emit optimisationStep(generation, modelIndex, u.step, u.totalSteps,
                                          u.bestError);
                const bool last = u.step >= u.totalSteps;
                if (u.bestLatent.defined() &&
                    (!sinceLive.isValid() || last || sinceLive.nsecsElapsed() >= kLiveIntervalNs)) {
                    sinceLive.start();
                    torch::NoGradGuard noGrad;
                    InversionLive frame;
                    frame.step = u.step;
                    frame.totalSteps = u.totalSteps;
                    frame.bestError = u.bestError;
                    frame.image = tensorToMat(model.decode(u.bestLatent).to(torch::kCPU)[0]);
                    emit live(generation, modelIndex, frame);
                }
                return !superseded();
            });
        out.ms = timer.nsecsElapsed() / 1e6;
        if (result.route == LatentRoute::Optimisation) out.steps = result.steps;
        out.cancelled = result.cancelled;
        if (result.codes.defined()) {
            out.codeRows = int(result.codes.size(0));
            out.codeCols = int(result.codes.size(1));
            out.codes.resize(int(result.codes.numel()));
            std::copy_n(result.codes.data_ptr<int64_t>(), result.codes.numel(), out.codes.begin());
            out.codeLevels = cellGrids(model.codeGrid(), model.imageShape());
            out.codeGrid = colourCodeGrid(out.codes, out.codeRows, out.codeCols,
                                          int(model.imageShape().height / out.codeRows));
        }
        out.reconstruction = tensorToMat(result.reconstruction[0]);
        out.mse = reconstructionMse(x, result.reconstruction);
        out.sharpness = meanSharpness(result.reconstruction);
        out.errorMap = errorHeatMap(out.input, out.reconstruction);
    });
}

}  // namespace le
