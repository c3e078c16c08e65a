#include "core/interactive/engine.h"

#include "core/errors.h"
#include "core/imaging/image_io.h"
#include "core/storage/checkpoint.h"

#include <QFileInfo>

namespace le {

QVector<float> LatentMap::latentFor(const QVector<float>& coords) const {
    QVector<float> z = mean;
    for (int i = 0; i < components.size() && i < coords.size(); ++i)
        for (int d = 0; d < z.size(); ++d) z[d] += coords[i] * components[i][d];
    return z;
}

QVector<float> LatentMap::coordsFor(const QVector<float>& latent) const {
    QVector<float> coords(components.size(), 0.0f);
    for (int i = 0; i < components.size(); ++i)
        for (int d = 0; d < latent.size() && d < mean.size(); ++d)
            coords[i] += (latent[d] - mean[d]) * components[i][d];
    return coords;
}

ModelEngine::ModelEngine() = default;
ModelEngine::~ModelEngine() = default;

GenerativeModel& ModelEngine::current() {
    if (!m_current) throw DataError("no model is loaded");
    return *m_current;
}

std::shared_ptr<GenerativeModel> ModelEngine::model(const QString& checkpointPath,
                                                    const QString& device, ModelInfo* info) {
    const std::shared_ptr<const CachedModel> loaded = m_cache.get(checkpointPath, device);
    if (info) {
        info->checkpointPath = checkpointPath;
        info->family = loaded->header.family;
        info->dataset = loaded->header.dataset;
        info->device = loaded->device;
        info->shape = loaded->model->imageShape();
        info->latentDim = loaded->model->latentDim();
        info->capabilities = loaded->model->capabilities();
        info->steps = loaded->header.steps;
    }
    return loaded->model;
}

ModelInfo ModelEngine::load(const QString& checkpointPath, const QString& device) {
    ModelInfo info;
    m_current = model(checkpointPath, device, &info);
    m_info = info;
    return m_info;
}

LatentMap ModelEngine::buildLatentMap(const Dataset& data, int components, int maxPoints) {
    GenerativeModel& model = current();
    torch::NoGradGuard noGrad;
    model.train(false);
    const int64_t n = std::min<int64_t>(data.test.size(), maxPoints);
    torch::Tensor codes;
    torch::Tensor labels;
    if (model.capabilities().encode && n > 0) {
        std::vector<torch::Tensor> parts;
        for (int64_t i = 0; i < n; i += 256) {
            const torch::Tensor batch = data.test.images.slice(0, i, std::min(n, i + 256));
            parts.push_back(model.encode(batch.to(model.device())).to(torch::kCPU));
        }
        codes = torch::cat(parts);
        if (data.test.labels.defined()) labels = data.test.labels.slice(0, 0, n);
    } else {
        codes = model.samplePrior(maxPoints, 1.0, /*seed=*/1).to(torch::kCPU);
    }
    codes = codes.to(torch::kFloat64);

    const int64_t dim = codes.size(1);
    const int k = int(std::min<int64_t>(components, dim));
    const torch::Tensor mean = codes.mean(0);
    const torch::Tensor centred = codes - mean;
    const torch::Tensor cov = centred.t().mm(centred) / std::max<int64_t>(1, codes.size(0) - 1);
    auto [eigenvalues, eigenvectors] = torch::linalg_eigh(cov);  // ascending
    const torch::Tensor order = torch::arange(dim - 1, dim - 1 - k, -1, torch::kLong);
    const torch::Tensor vectors = eigenvectors.index_select(1, order).t().contiguous();  // k×dim
    const torch::Tensor values = eigenvalues.index_select(0, order).clamp_min(0);
    const torch::Tensor projected = centred.mm(vectors.t());  // n×k
    const double total = eigenvalues.clamp_min(0).sum().item<double>();

    LatentMap map;
    // Without an encoder the map shows draws from the prior: they carry no class.
    const bool encoded = labels.defined() || model.capabilities().encode;
    if (encoded) map.classNames = data.classNames;
    map.source =
        encoded ? QStringLiteral("encoded test images") : QStringLiteral("samples from the prior");
    auto toVector = [](const torch::Tensor& t) {
        const torch::Tensor f = t.to(torch::kFloat32).contiguous();
        return QVector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    };
    map.mean = toVector(mean);
    for (int i = 0; i < k; ++i) map.components.push_back(toVector(vectors[i]));
    map.stddev = toVector(values.sqrt());
    map.explained = toVector(values / std::max(total, 1e-12));
    map.x = toVector(projected.select(1, 0));
    map.y = k > 1 ? toVector(projected.select(1, 1)) : QVector<float>(map.x.size(), 0.0f);
    map.labels.resize(map.x.size());
    for (int i = 0; i < map.labels.size(); ++i)
        map.labels[i] = labels.defined() ? int(labels[i].item<int64_t>()) : -1;
    return map;
}

cv::Mat ModelEngine::decode(const QVector<float>& latent) {
    GenerativeModel& model = current();
    if (latent.size() != model.latentDim())
        throw DataError(QStringLiteral("latent has %1 values but the model needs %2")
                            .arg(latent.size())
                            .arg(model.latentDim())
                            .toStdString());
    torch::NoGradGuard noGrad;
    const torch::Tensor z = torch::from_blob(const_cast<float*>(latent.constData()),
                                             {1, latent.size()}, torch::kFloat32)
                                .to(model.device());
    return tensorToMat(model.decode(z)[0]);
}

}  // namespace le
