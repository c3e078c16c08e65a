#include "core/imaging/fit.h"

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

}  // namespace le
