#include "core/jobs/interpolation_job.h"

#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/latent/interpolation.h"
#include "core/storage/model_catalog.h"

#include <QElapsedTimer>
#include <QFileInfo>

namespace le {

InterpolationJob::InterpolationJob(QObject* parent)
    : RequestJob(QStringLiteral("interpolation-job"), parent) {
    qRegisterMetaType<le::InterpolationStrip>();
}

InterpolationJob::~InterpolationJob() {
    stop();
}

quint64 InterpolationJob::begin(const InterpolationRequest& request) {
    InterpolationRequest copy = request;
    copy.from = request.from.clone();
    copy.to = request.to.clone();
    return submitRequest(copy);
}

void InterpolationJob::process(quint64 generation) {
    const int count = int(request().checkpoints.size());
    models().keepOnly(request().checkpoints);
    for (int i = 0; i < count && !superseded(); ++i)
        emit strip(generation, i, interpolateOne(i, generation));
}

InterpolationStrip InterpolationJob::interpolateOne(int modelIndex, quint64 generation) {
    InterpolationStrip start;
    start.checkpointPath = request().checkpoints[modelIndex];
    return capturingErrors(std::move(start), [&](InterpolationStrip& out) {
        const auto loaded = models().get(out.checkpointPath, request().device);
        GenerativeModel& model = *loaded->model;
        out.family = loaded->header.family;
        const QString title = familyTitle(out.family);
        out.method = interpolationRouteName(interpolationRoute(model.capabilities()));
        if (out.method.isEmpty())
            throw DataError(QStringLiteral("%1: a %2 model has no latent to interpolate in")
                                .arg(QFileInfo(out.checkpointPath).fileName(), title)
                                .toStdString());
        InversionSettings inversion;
        inversion.steps = std::max(1, request().inversionSteps);
        inversion.starts = 2;
        inversion.seed = request().seed;
        QElapsedTimer timer;
        timer.start();
        const LatentInterpolation path =
            interpolateImages(model, matForModel(request().from, model.imageShape()),
                              matForModel(request().to, model.imageShape()), request().frames,
                              request().slerp, inversion, [&](int64_t done, int64_t total) {
                                  report(generation, done, total, title);
                                  return !superseded();
                              });
        out.ms = timer.nsecsElapsed() / 1e6;
        out.cancelled = path.cancelled;
        for (const torch::Tensor& frame : path.frames) out.frames.push_back(tensorToMat(frame[0]));
        out.endpointMse = path.endpointMse;
    });
}

}  // namespace le
