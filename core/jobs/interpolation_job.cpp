#include "core/jobs/interpolation_job.h"

#include "core/errors.h"
#include "core/imaging/fit.h"
#include "core/imaging/image_io.h"
#include "core/imaging/video.h"
#include "core/metrics/metrics.h"
#include "core/storage/checkpoint.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace le {

namespace {

torch::Tensor slerpOne(const torch::Tensor& a, const torch::Tensor& b, double t) {
    const double na = a.norm().item<double>(), nb = b.norm().item<double>();
    if (na < 1e-12 || nb < 1e-12) return a * (1 - t) + b * t;
    const double cosOmega = std::clamp((a.dot(b) / (na * nb)).item<double>(), -1.0, 1.0);
    const double omega = std::acos(cosOmega);
    if (std::abs(std::sin(omega)) < 1e-6) return a * (1 - t) + b * t;
    // Along the great circle of the unit directions, with the norm moving linearly: the path
    // keeps the radius a Gaussian prior's mass lives at instead of cutting through the middle.
    const torch::Tensor direction =
        (a / na * std::sin((1 - t) * omega) + b / nb * std::sin(t * omega)) / std::sin(omega);
    return direction * ((1 - t) * na + t * nb);
}

}  // namespace

torch::Tensor interpolateLatents(const torch::Tensor& a, const torch::Tensor& b, int frames,
                                 bool slerp) {
    if (frames < 2) throw DataError("an interpolation needs at least 2 frames");
    const torch::Tensor fa = a.flatten().to(torch::kDouble), fb = b.flatten().to(torch::kDouble);
    std::vector<torch::Tensor> path;
    for (int i = 0; i < frames; ++i) {
        const double t = double(i) / double(frames - 1);
        path.push_back(slerp ? slerpOne(fa, fb, t) : fa * (1 - t) + fb * t);
    }
    return torch::stack(path).to(a.scalar_type());
}

InterpolationJob::InterpolationJob(QObject* parent) : QThread(parent) {
    qRegisterMetaType<le::InterpolationStrip>();
    setObjectName(QStringLiteral("interpolation-job"));
}

InterpolationJob::~InterpolationJob() {
    m_cancel = true;
    wait();
}

quint64 InterpolationJob::begin(const InterpolationRequest& request) {
    m_cancel = true;
    wait();  // between steps: one decode or one optimiser step
    m_cancel = false;
    m_request = request;
    m_request.from = request.from.clone();
    m_request.to = request.to.clone();
    const quint64 generation = ++m_generation;
    start(QThread::LowPriority);
    return generation;
}

void InterpolationJob::cancel() {
    m_cancel = true;
}

QString InterpolationJob::methodFor(const Capabilities& capabilities, const QString& family) {
    if (capabilities.codeGrid) return QStringLiteral("embedding space");
    if (family == QLatin1String("glow")) return QStringLiteral("exact flow");
    if (capabilities.encode && capabilities.decode) return QStringLiteral("encoder");
    if (capabilities.inversionByOptimisation) return QStringLiteral("inversion");
    return {};
}

void InterpolationJob::run() {
    const quint64 generation = m_generation;
    const InterpolationRequest request = m_request;
    for (int i = 0; i < request.checkpoints.size(); ++i) {
        if (m_cancel) break;
        emit strip(generation, i, interpolateOne(request.checkpoints[i], request, i, generation));
    }
    emit jobFinished(generation, m_cancel.load());
}

InterpolationStrip InterpolationJob::interpolateOne(const QString& path,
                                                    const InterpolationRequest& request,
                                                    int modelIndex, quint64 generation) {
    InterpolationStrip out;
    out.checkpointPath = path;
    try {
        torch::Device device = deviceFromName(request.device);
        LoadedCheckpoint loaded = loadCheckpoint(path, device);
        GenerativeModel& model = *loaded.model;
        out.family = QString::fromStdString(model.family());
        out.method = methodFor(model.capabilities(), out.family);
        if (out.method.isEmpty())
            throw DataError(QStringLiteral("%1: a %2 model has no latent to interpolate in")
                                .arg(QFileInfo(path).fileName(), out.family)
                                .toStdString());
        model.train(false);
        const torch::Tensor ends = torch::cat({matForModel(request.from, model.imageShape()),
                                               matForModel(request.to, model.imageShape())})
                                       .to(device);
        QElapsedTimer timer;
        timer.start();
        const qint64 total =
            request.frames +
            (out.method == QLatin1String("inversion") ? 2 * qint64(request.inversionSteps) : 0);
        torch::Tensor latents;
        if (out.method == QLatin1String("inversion")) {
            InversionOptions options;
            options.steps = std::max(1, request.inversionSteps);
            options.starts = 2;
            options.seed = request.seed;
            std::vector<torch::Tensor> found;
            for (int e = 0; e < 2 && !m_cancel; ++e) {
                const InversionResult r =
                    model.invert(ends.slice(0, e, e + 1), options, [&](const InversionUpdate& u) {
                        emit progress(generation, modelIndex, e * options.steps + u.step, total);
                        return !m_cancel.load();
                    });
                found.push_back(r.latent.detach().reshape({1, -1}));
            }
            if (found.size() < 2) {
                out.cancelled = true;
                return out;
            }
            latents = torch::cat(found);
        } else {
            torch::NoGradGuard noGrad;
            latents = model.encode(ends);
        }
        torch::NoGradGuard noGrad;
        const torch::Tensor path_ =
            interpolateLatents(latents[0], latents[1], request.frames, request.slerp);
        const qint64 offset = total - request.frames;
        for (int i = 0; i < request.frames; ++i) {
            if (m_cancel) {
                out.cancelled = true;
                break;
            }
            // One decode per frame: progress shows, and a cancel waits for one decode only.
            const torch::Tensor image = model.decode(path_.slice(0, i, i + 1).to(device)).cpu();
            out.frames.push_back(tensorToMat(image[0]));
            emit progress(generation, modelIndex, offset + i + 1, total);
        }
        out.ms = timer.nsecsElapsed() / 1e6;
        if (!out.cancelled) {
            const torch::Tensor reached =
                model.decode(torch::stack({path_[0], path_[request.frames - 1]}).to(device));
            out.endpointMse = reconstructionMse(ends.cpu(), reached.cpu());
        }
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

}  // namespace le
