#include "core/metrics/metrics.h"

#include "core/errors.h"
#include "core/imaging/image_io.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace le {
namespace {

struct Moments {
    torch::Tensor mean;        // D, double
    torch::Tensor covariance;  // D×D, double, unbiased
};

Moments moments(const torch::Tensor& features) {
    const torch::Tensor x = features.detach().to(torch::kCPU, torch::kDouble);
    const torch::Tensor mean = x.mean(0);
    const torch::Tensor centred = x - mean;
    return {mean, centred.t().matmul(centred) / double(x.size(0) - 1)};
}

std::tuple<torch::Tensor, torch::Tensor> eigh(const torch::Tensor& symmetric) {
    try {
        return torch::linalg::eigh(symmetric, "L");
    } catch (const c10::Error& e) {
        throw DataError(
            std::string("Fréchet distance: the covariance has no eigen-decomposition (") +
            e.what_without_backtrace() + ")");
    }
}

// Symmetric positive semi-definite square root; eigenvalues that rounding made slightly negative
// count as 0.
torch::Tensor psdSqrt(const torch::Tensor& symmetric) {
    auto [values, vectors] = eigh(symmetric);
    return vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
}

void checkFeatures(const torch::Tensor& a, const torch::Tensor& b) {
    if (!a.defined() || !b.defined() || a.dim() != 2 || b.dim() != 2)
        throw DataError("Fréchet distance: features must be two N×D matrices");
    if (a.size(1) != b.size(1))
        throw DataError("Fréchet distance: feature widths differ (" + std::to_string(a.size(1)) +
                        " and " + std::to_string(b.size(1)) + ")");
    if (a.size(0) < 2 || b.size(0) < 2)
        throw DataError("Fréchet distance: needs at least 2 rows in each set");
    if (!torch::isfinite(a).all().item<bool>() || !torch::isfinite(b).all().item<bool>())
        throw DataError("Fréchet distance: the features hold non-finite values");
}

}  // namespace

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

std::vector<double> radialPowerSpectrum(const torch::Tensor& images) {
    torch::NoGradGuard noGrad;
    torch::Tensor grey = images.detach().to(torch::kCPU, torch::kDouble);
    if (grey.dim() == 3) grey = grey.unsqueeze(0);
    if (grey.dim() != 4 || grey.size(0) == 0)
        throw DataError("power spectrum: expects a non-empty N×C×H×W batch");
    grey = grey.mean(1);
    grey = grey - grey.mean({1, 2}, /*keepdim=*/true);
    const int64_t h = grey.size(1), w = grey.size(2);
    const torch::Tensor power =
        torch::fft::fftshift(torch::fft::fft2(grey), {1, 2}).abs().pow(2).mean(0).contiguous();
    const int64_t bins = std::min(h, w) / 2 + 1;
    std::vector<double> sum(size_t(bins), 0.0);
    std::vector<int64_t> count(size_t(bins), 0);
    const double* p = power.data_ptr<double>();
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
            const double dy = double(y - h / 2), dx = double(x - w / 2);
            const auto r = int64_t(std::lround(std::sqrt(dy * dy + dx * dx)));
            if (r >= bins) continue;  // the corners beyond the inscribed circle
            sum[size_t(r)] += p[y * w + x];
            ++count[size_t(r)];
        }
    for (size_t r = 0; r < sum.size(); ++r)
        if (count[r] > 0) sum[r] /= double(count[r]);
    return sum;
}

double highFrequencyShare(const std::vector<double>& spectrum) {
    if (spectrum.size() < 3) return 0.0;
    const size_t half = (spectrum.size() - 1) / 2;
    double total = 0, high = 0;
    for (size_t r = 1; r < spectrum.size(); ++r) {
        total += spectrum[r];
        if (r > half) high += spectrum[r];
    }
    return total > 0 ? high / total : 0.0;
}

double reconstructionMse(const torch::Tensor& original, const torch::Tensor& reconstruction) {
    return (original.to(torch::kCPU) - reconstruction.to(torch::kCPU)).pow(2).mean().item<double>();
}

double frechetDistance(const torch::Tensor& featuresA, const torch::Tensor& featuresB) {
    checkFeatures(featuresA, featuresB);
    torch::NoGradGuard noGrad;
    const Moments a = moments(featuresA);
    const Moments b = moments(featuresB);
    const torch::Tensor rootA = psdSqrt(a.covariance);
    torch::Tensor inner = rootA.matmul(b.covariance).matmul(rootA);
    inner = (inner + inner.t()) / 2;  // symmetric up to rounding; make it exactly so for eigh
    const torch::Tensor cross = std::get<0>(eigh(inner)).clamp_min(0).sqrt().sum();
    const double meanTerm = (a.mean - b.mean).pow(2).sum().item<double>();
    const double traceTerm =
        (a.covariance.trace() + b.covariance.trace() - 2 * cross).item<double>();
    return std::max(0.0, meanTerm + traceTerm);  // >= 0 exactly; rounding can dip below
}

}  // namespace le
