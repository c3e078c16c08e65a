#include "metrics.h"

#include "image_io.h"

#include <opencv2/imgproc.hpp>

namespace le {

double meanSharpness(const torch::Tensor& images) {
    const torch::Tensor cpu = images.detach().to(torch::kCPU);
    double sum = 0;
    for (int64_t i = 0; i < cpu.size(0); ++i) {
        cv::Mat image = tensorToMat(cpu[i]);
        if (image.channels() == 3) cv::cvtColor(image, image, cv::COLOR_RGB2GRAY);
        cv::Mat laplacian;
        cv::Laplacian(image, laplacian, CV_64F);
        cv::Scalar mean, stddev;
        cv::meanStdDev(laplacian, mean, stddev);
        sum += stddev[0] * stddev[0];
    }
    return cpu.size(0) > 0 ? sum / double(cpu.size(0)) : 0.0;
}

double reconstructionMse(const torch::Tensor& original, const torch::Tensor& reconstruction) {
    return (original.to(torch::kCPU) - reconstruction.to(torch::kCPU)).pow(2).mean().item<double>();
}

}  // namespace le
