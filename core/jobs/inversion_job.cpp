#include "core/jobs/inversion_job.h"
#include "core/imaging/compose.h"

#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/jobs/code_grid_job.h"
#include "core/metrics/metrics.h"
#include "core/storage/checkpoint.h"
#include "models/vqvae.h"

#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace le {

namespace {

// Live images of a GAN's optimisation: often enough to look continuous, rarely enough that the
// decodes cost little against the optimiser steps.
constexpr qint64 kLiveIntervalNs = 70'000'000;

}  // namespace

void registerInversionMetaTypes() {
    qRegisterMetaType<le::InversionOutcome>();
    qRegisterMetaType<le::InversionLive>();
}

InversionJob::InversionJob(QObject* parent) : QThread(parent) {
    registerInversionMetaTypes();
    setObjectName(QStringLiteral("inversion-job"));
}

InversionJob::~InversionJob() {
    m_cancel = true;
    wait();
}

quint64 InversionJob::begin(const InversionRequest& request) {
    m_cancel = true;
    wait();  // between steps: a GAN step or one encode, milliseconds
    m_cancel = false;
    m_request = request;
    m_request.image = request.image.clone();
    const quint64 generation = ++m_generation;
    start(QThread::LowPriority);
    return generation;
}

void InversionJob::cancel() {
    m_cancel = true;
}

QString InversionJob::methodFor(const Capabilities& capabilities, const QString& family) {
    if (capabilities.codeGrid) return QStringLiteral("code grid");
    if (family == QLatin1String("glow")) return QStringLiteral("exact flow");
    if (capabilities.inversionByOptimisation) return QStringLiteral("optimisation");
    if (capabilities.encode && capabilities.decode) return QStringLiteral("encoder");
    return {};
}

void InversionJob::run() {
    const quint64 generation = m_generation;
    const InversionRequest request = m_request;
    for (int i = 0; i < request.checkpoints.size(); ++i) {
        if (m_cancel) break;
        const InversionOutcome result = invertOne(request.checkpoints[i], request, i, generation);
        emit outcome(generation, i, result);
    }
    emit jobFinished(generation, m_cancel.load());
}

InversionOutcome InversionJob::invertOne(const QString& path, const InversionRequest& request,
                                         int modelIndex, quint64 generation) {
    InversionOutcome out;
    out.checkpointPath = path;
    QElapsedTimer timer;
    try {
        torch::Device device = deviceFromName(request.device);
        LoadedCheckpoint loaded = loadCheckpoint(path, device);
        GenerativeModel& model = *loaded.model;
        out.family = QString::fromStdString(model.family());
        out.method = methodFor(model.capabilities(), out.family);
        if (out.method.isEmpty())
            throw DataError(QStringLiteral("%1: a %2 model has no way to invert an image")
                                .arg(QFileInfo(path).fileName(), out.family)
                                .toStdString());
        model.train(false);
        const torch::Tensor x = matForModel(request.image, model.imageShape()).to(device);
        out.input = tensorToMat(x[0]);
        out.inputSharpness = meanSharpness(x.cpu());

        timer.start();
        torch::Tensor reconstruction;
        if (out.method == QLatin1String("optimisation")) {
            InversionOptions options;
            options.steps = std::max(1, request.optimisationSteps);
            options.starts = std::max(0, request.starts);
            options.seed = request.seed;
            QElapsedTimer sinceLive;
            InversionResult result = model.invert(x, options, [&](const InversionUpdate& u) {
                emit progress(generation, modelIndex, u.step, u.totalSteps, u.bestError);
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
                return !m_cancel.load();
            });
            reconstruction = result.image;
            out.steps = result.steps;
            out.cancelled = result.cancelled;
        } else {
            torch::NoGradGuard noGrad;
            if (auto* vqvae = dynamic_cast<VqVae*>(&model)) {
                const torch::Tensor codes = vqvae->encodeCodes(x);
                reconstruction = vqvae->decodeCodes(codes);
                const torch::Tensor grid = codes[0].to(torch::kCPU, torch::kLong).contiguous();
                out.codeRows = int(grid.size(0));
                out.codeCols = int(grid.size(1));
                out.codes.resize(int(grid.numel()));
                std::copy_n(grid.data_ptr<int64_t>(), grid.numel(), out.codes.begin());
                out.codeGrid =
                    colourCodeGrid(out.codes, out.codeRows, out.codeCols,
                                   int(model.imageShape().height / vqvae->options().gridHeight()));
            } else {
                reconstruction = model.decode(model.encode(x));
            }
            emit progress(generation, modelIndex, 1, 1, 0.0);
        }
        out.ms = timer.nsecsElapsed() / 1e6;
        torch::NoGradGuard noGrad;
        reconstruction = reconstruction.detach().to(torch::kCPU);
        out.reconstruction = tensorToMat(reconstruction[0]);
        out.mse = reconstructionMse(x.cpu(), reconstruction);
        out.sharpness = meanSharpness(reconstruction);
        out.errorMap = errorHeatMap(out.input, out.reconstruction);
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

}  // namespace le
