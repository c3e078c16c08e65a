#include "core/latent/inversion.h"

#include "core/errors.h"

namespace le {

LatentInversion invertImage(GenerativeModel& model, const torch::Tensor& x,
                            const InversionSettings& settings, const InversionProgress& progress) {
    LatentInversion out;
    out.route = inversionRoute(model.capabilities());
    const torch::Tensor input = x.to(model.device(), torch::kFloat);
    switch (out.route) {
        case LatentRoute::None:
            throw DataError(QStringLiteral("a %1 model has no way to invert an image")
                                .arg(QString::fromStdString(model.family()))
                                .toStdString());
        case LatentRoute::Optimisation: {
            InversionOptions options;
            options.steps = std::max<int64_t>(1, settings.steps);
            options.starts = std::max<int64_t>(0, settings.starts);
            options.seed = settings.seed;
            const InversionResult r = model.invert(input, options, progress);
            out.reconstruction = r.image.detach().to(torch::kCPU);
            out.steps = r.steps;
            out.cancelled = r.cancelled;
            return out;
        }
        case LatentRoute::CodeGrid: {
            torch::NoGradGuard noGrad;
            CodeGridModel& grid = *model.codeGrid();
            const torch::Tensor codes = grid.encodeCodes(input);
            out.reconstruction = grid.decodeCodes(codes).to(torch::kCPU);
            out.codes = codes[0].to(torch::kCPU, torch::kLong).contiguous();
            break;
        }
        default: {  // the encoder or the exact flow: encode, then decode
            torch::NoGradGuard noGrad;
            out.reconstruction = model.decode(model.encode(input)).to(torch::kCPU);
            break;
        }
    }
    if (progress) {  // one step, done
        InversionUpdate done;
        done.step = done.totalSteps = 1;
        progress(done);
    }
    return out;
}

}  // namespace le
