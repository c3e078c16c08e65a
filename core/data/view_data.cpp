#include "core/data/view_data.h"

#include "core/interactive/engine.h"
#include "core/imaging/image_io.h"

namespace le {

torch::Tensor fitToShape(const torch::Tensor& images, const ImageShape& shape) {
    torch::Tensor x = images.to(torch::kFloat);
    if (x.dim() == 3) x = x.unsqueeze(0);
    if (x.size(1) != shape.channels) {
        if (shape.channels == 1)
            x = x.mean(1, /*keepdim=*/true);
        else
            x = x.expand({x.size(0), shape.channels, x.size(2), x.size(3)});
    }
    const int64_t dh = shape.height - x.size(2), dw = shape.width - x.size(3);
    if (dh == 0 && dw == 0) return x.contiguous();
    if (dh > 0 && dw > 0 && dh % 2 == 0 && dw % 2 == 0)
        return torch::constant_pad_nd(x, {dw / 2, dw / 2, dh / 2, dh / 2}, -1.0).contiguous();
    namespace F = torch::nn::functional;
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{shape.height, shape.width})
                                 .mode(torch::kArea))
        .contiguous();
}

torch::Tensor matForModel(const cv::Mat& image, const ImageShape& shape) {
    return fitToShape(matToTensor(image), shape);
}

cv::Mat fitMatToShape(const cv::Mat& image, const ImageShape& shape) {
    return tensorToMat(matForModel(image, shape)[0]);
}

DatasetCache& DatasetCache::instance() {
    static DatasetCache cache;
    return cache;
}

const Dataset& DatasetCache::get(const QString& name) {
    QMutexLocker lock(&m_mutex);
    auto found = m_sets.find(name);
    if (found == m_sets.end())
        found = m_sets.emplace(name, loadDatasetByName(name, /*withTrain=*/false, 0, 2000)).first;
    return found->second;  // std::map nodes never move
}

cv::Mat DatasetCache::item(const QString& name, int index) {
    const Dataset& data = get(name);
    const int64_t n = data.test.size();
    if (n == 0) return {};
    const int64_t i = ((index % n) + n) % n;
    return tensorToMat(data.test.images[i]);
}

int DatasetCache::size(const QString& name) {
    return int(get(name).test.size());
}

}  // namespace le
