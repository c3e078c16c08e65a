#include "core/latent/interpolation.h"

#include "core/errors.h"
#include "core/metrics/metrics.h"

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

LatentInterpolation interpolateImages(GenerativeModel& model, const torch::Tensor& from,
                                      const torch::Tensor& to, int frames, bool slerp,
                                      const InversionSettings& inversion,
                                      const StepProgress& progress) {
    if (frames < 2) throw DataError("an interpolation needs at least 2 frames");
    LatentInterpolation out;
    out.route = interpolationRoute(model.capabilities());
    if (out.route == LatentRoute::None)
        throw DataError(QStringLiteral("a %1 model has no latent to interpolate in")
                            .arg(QString::fromStdString(model.family()))
                            .toStdString());
    const torch::Device device = model.device();
    const torch::Tensor ends = torch::cat({from, to}).to(device, torch::kFloat);
    const bool optimise = out.route == LatentRoute::Optimisation;
    const int64_t steps = std::max<int64_t>(1, inversion.steps);
    const int64_t total = frames + (optimise ? 2 * steps : 0);
    auto keepGoing = [&](int64_t done) { return !progress || progress(done, total); };

    torch::Tensor latents;
    if (optimise) {
        InversionOptions options;
        options.steps = steps;
        options.starts = std::max<int64_t>(0, inversion.starts);
        options.seed = inversion.seed;
        std::vector<torch::Tensor> found;
        for (int64_t e = 0; e < 2; ++e) {
            const InversionResult r = model.invert(
                ends.slice(0, e, e + 1), options,
                [&](const InversionUpdate& u) { return keepGoing(e * steps + u.step); });
            if (r.cancelled) {
                out.cancelled = true;
                return out;
            }
            found.push_back(r.latent.detach().reshape({1, -1}));
        }
        latents = torch::cat(found);
    } else {
        torch::NoGradGuard noGrad;
        latents = model.encode(ends);
    }
    torch::NoGradGuard noGrad;
    out.latents = interpolateLatents(latents[0], latents[1], frames, slerp);
    const int64_t offset = total - frames;
    for (int i = 0; i < frames; ++i) {
        // One decode per frame: progress shows, and a stop waits for one decode only.
        out.frames.push_back(model.decode(out.latents.slice(0, i, i + 1).to(device)).cpu());
        if (!keepGoing(offset + i + 1) && i + 1 < frames) {
            out.cancelled = true;
            return out;
        }
    }
    out.endpointMse =
        reconstructionMse(ends.cpu(), torch::cat({out.frames.front(), out.frames.back()}));
    return out;
}

}  // namespace le
